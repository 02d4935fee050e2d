#!/usr/bin/env bash
# Exits 0 when this CPU has x86-64-v4's AVX-512 subsets (F, BW, CD, DQ, VL), 1 otherwise.
flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
for feature in avx512f avx512bw avx512cd avx512dq avx512vl; do
    [[ " $flags " == *" $feature "* ]] || exit 1
done
exit 0
