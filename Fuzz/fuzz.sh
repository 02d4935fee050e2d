#!/usr/bin/env bash
# Builds the libFuzzer executables and runs each for RUNS executions (default 2,000,000) on a corpus
# seeded by MutationFuzz --write-corpus. Usage: Fuzz/fuzz.sh [RUNS] [TARGET…]; logs in $WORK/logs.
#
# Why not `-sanitize=fuzzer`: it links libFuzzer's own `main` as a whole archive, which collides with the
# `main` SwiftPM aliases to every executable target (`--defsym main=<Module>_main`). So the executables
# keep their `main`, are instrumented with ASan and libFuzzer's coverage flags, link
# libclang_rt.fuzzer_no_main, and call LLVMFuzzerRunDriver.
set -euo pipefail
cd "$(dirname "$0")"
RUNS=${1:-2000000}
shift || true
TARGETS=("${@:-shard manifest checkpoint definition libfm}")
TARGETS=(${TARGETS[@]})
WORK=${WORK:-/tmp/nfm-fuzz}
RT=$(dirname "$(readlink -f "$(command -v swift)")")/../lib/clang
RT=$(ls -d "$RT"/*/lib/linux | head -1)/libclang_rt.fuzzer_no_main-x86_64.a
FLAGS=(--scratch-path .build-fuzz -Xswiftc -sanitize=address
    -Xswiftc -sanitize-coverage=edge,trace-cmp,inline-8bit-counters,pc-table -Xlinker "$RT" -Xlinker -lstdc++)
swift build --product MutationFuzz >&2
.build/debug/MutationFuzz --write-corpus "$WORK/seeds"
mkdir -p "$WORK/logs"
for target in "${TARGETS[@]}"; do
    case $target in
        shard) product=FuzzShard ;; manifest) product=FuzzManifest ;; checkpoint) product=FuzzCheckpoint ;;
        definition) product=FuzzDefinition ;; libfm) product=FuzzLibFM ;; *) echo "unknown target $target" >&2; exit 2 ;;
    esac
    swift build --product "$product" "${FLAGS[@]}" 2>&1 | grep -v "Cannot export local symbol" >&2
    mkdir -p "$WORK/corpus/$target" "$WORK/crashes/$target"
    ".build-fuzz/debug/$product" "$WORK/corpus/$target" "$WORK/seeds/$target" -runs="$RUNS" -max_len=65536 \
        -timeout=10 -rss_limit_mb=4096 -seed=2017 -print_final_stats=1 \
        -artifact_prefix="$WORK/crashes/$target/" > "$WORK/logs/$target.log" 2>&1
    echo "$target: $(grep -E '^Done|stat::number_of_executed_units' "$WORK/logs/$target.log" | tr '\n' ' ')"
done
