#!/usr/bin/env bash
# Release build of the nfm tool with AVX2/FMA code generation on x86-64 (2–2.6× on the SIMD kernels).
# The flag is passed here, not in Package.swift, so packages that depend on nfm never inherit it.
# The Swift runtime and Foundation are linked statically: the binary runs on machines without a Swift
# toolchain (cluster workers) and starts ≈15 ms sooner (no shared-library loading and relocation).
# NFM_PORTABLE=1 builds for baseline x86-64 / any arm64. Prints the path of the built binary.
set -euo pipefail
cd "$(dirname "$0")/.."
flags=(--static-swift-stdlib)
if [ "$(uname -m)" = "x86_64" ] && [ -z "${NFM_PORTABLE:-}" ]; then
    flags+=(-Xswiftc -Xcc -Xswiftc -march=x86-64-v3)
fi
swift build -c release --product nfm "${flags[@]}" "$@" >&2
echo "$(swift build -c release --show-bin-path "${flags[@]}")/nfm"
