#!/usr/bin/env bash
# Runs the whole test suite: the Swift tests, then the Python package's tests (python/tests) against a
# release build of nfm. Installs system dependencies first when missing. On a CPU with AVX-512 the
# kernel and training suites run a second time, built as scripts/build-release.sh builds there
# (-march=x86-64-v4 -D NFM_AVX512), so that both kernel paths are checked bit for bit.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build --build-tests
swift test --skip-build
if [ "$(uname -m)" = "x86_64" ] && bash scripts/has-avx512.sh; then
    wide=(--scratch-path .build-avx512 -Xswiftc -Xcc -Xswiftc -march=x86-64-v4 -Xswiftc -DNFM_AVX512)
    swift build --build-tests "${wide[@]}"
    swift test --skip-build "${wide[@]}" \
        --filter 'GEMMTests|WideKernelTests|KernelTests|GradientTests|TeamStepTests|ParallelTrainingTests|BaselineKernelTests|BaselineGradientTests'
fi
NFM_BIN=$(bash scripts/build-release.sh) bash scripts/test-python.sh
