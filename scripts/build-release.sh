#!/usr/bin/env bash
# Release build of the nfm tool for the CPU it runs on, x86-64 first: with AVX2/FMA code generation
# (x86-64-v3: 2–2.6× on the SIMD kernels), and where the CPU has AVX-512 (x86-64-v4's F, BW, CD, DQ, VL)
# with -march=x86-64-v4 and the kernels' sixteen-wide paths (-D NFM_AVX512: the GEMM's 4 × 32 tile, the
# Bi-Interaction, Adagrad and batch-norm loops; ≈ 20% off an NFM epoch on a Zen 5). Every path computes the
# same bits.
# The flags are passed here, not in Package.swift, so packages that depend on nfm never inherit them.
# The Swift runtime and Foundation are linked statically: the binary runs on machines without a Swift
# toolchain (cluster workers) and starts ≈15 ms sooner (no shared-library loading and relocation).
# NFM_PORTABLE=1 builds for baseline x86-64 / any arm64, NFM_NO_AVX512=1 for x86-64-v3 (a binary for
# other machines than this one). Prints the path of the built binary.
set -euo pipefail
cd "$(dirname "$0")/.."
flags=(--static-swift-stdlib)
if [ "$(uname -m)" = "x86_64" ] && [ -z "${NFM_PORTABLE:-}" ]; then
    if [ -z "${NFM_NO_AVX512:-}" ] && bash scripts/has-avx512.sh; then
        flags+=(-Xswiftc -Xcc -Xswiftc -march=x86-64-v4 -Xswiftc -DNFM_AVX512)
    else
        flags+=(-Xswiftc -Xcc -Xswiftc -march=x86-64-v3)
    fi
fi
swift build -c release --product nfm "${flags[@]}" "$@" >&2
echo "$(swift build -c release --show-bin-path "${flags[@]}")/nfm"
