/// Single-precision matrix multiply for the small, hot shapes of NFM training (batch × 64 · 64 × 64).
///
/// `C[m×n] (+)= Σₚ A(i, p) · B[p, j]` where `A(i, p) = a[i·aRowStride + p·aColStride]` (so the same
/// kernel serves `A·B` with `(p, 1)` strides and `Aᵀ·B` with `(1, m)` strides), `B` is row-major
/// `p × n` and `C` row-major `m × n`. Register blocking is 4 rows × 16 columns (eight SIMD8
/// accumulators), with 4 × 8, 1 × 16, 1 × 8 and scalar edges; the reduction over `p` runs in order,
/// so results do not depend on anything but the shapes.
public func gemm(
    m: Int, n: Int, p: Int,
    a: UnsafePointer<Float>, aRowStride: Int, aColStride: Int,
    b: UnsafePointer<Float>,
    c: UnsafeMutablePointer<Float>, accumulate: Bool
) {
    // Small problems (NFM's 64-wide layers): B stays in L1/L2 across the row blocks.
    let stridedA = aColStride != 1 && m > 64
    if p * n <= gemmBlockFloats && !stridedA {
        gemmKernel(
            m: m, n: n, p: p, a: a, aRowStride: aRowStride, aColStride: aColStride, b: b, ldb: n, c: c, ldc: n,
            accumulate: accumulate)
        return
    }
    gemmBlocked(
        m: m, n: n, p: p, a: a, aRowStride: aRowStride, aColStride: aColStride, b: b, c: c, accumulate: accumulate,
        packA: stridedA)
}

/// Large products (Wide&Deep's 640 × 1024 layer, DeepCross's residual units): B is cut into blocks of
/// `gemmDepthBlock` rows × `gemmColumnBlock` columns, each packed into contiguous 16-column strips (a
/// strip of a row-major B with a 4 KiB row stride would map to a handful of cache sets), and every row
/// block of A passes over each strip while it sits in L1. Each element of C still sums its products over
/// p in order (partial sums are stored and reloaded between depth blocks), so the result is the same as
/// unblocked. With `packA` (A transposed in memory: weight gradients `Aᵀ·dZ`, whose rows are 4 KiB apart
/// for 1024-wide layers), A is copied to row-major blocks of `gemmRowBlock` rows first, for the same reason.
private func gemmBlocked(
    m: Int, n: Int, p: Int, a: UnsafePointer<Float>, aRowStride: Int, aColStride: Int, b: UnsafePointer<Float>,
    c: UnsafeMutablePointer<Float>, accumulate: Bool, packA: Bool
) {
    let packed = UnsafeMutablePointer<Float>.allocate(capacity: gemmDepthBlock * gemmColumnBlock)
    let packedA = UnsafeMutablePointer<Float>.allocate(capacity: packA ? gemmRowBlock * gemmDepthBlock : 0)
    defer {
        packed.deallocate()
        packedA.deallocate()
    }
    var jc = 0
    while jc < n {
        let nb = min(gemmColumnBlock, n - jc)
        let strips = nb / 16
        var pc = 0
        while pc < p {
            let pb = min(gemmDepthBlock, p - pc)
            let first = accumulate || pc > 0
            let source = b + pc * n + jc
            packStrips(source, rowStride: n, rows: pb, strips: strips, into: packed)
            var ic = 0
            while ic < m {
                let mb = packA ? min(gemmRowBlock, m - ic) : m
                var aBlock = UnsafePointer(a + ic * aRowStride + pc * aColStride)
                var (ars, acs) = (aRowStride, aColStride)
                if packA {
                    packRows(aBlock, rowStride: aRowStride, colStride: aColStride, rows: mb, depth: pb, into: packedA)
                    aBlock = UnsafePointer(packedA)
                    (ars, acs) = (pb, 1)
                }
                let cBlock = c + ic * n + jc
                for s in 0..<strips {
                    gemmKernel(
                        m: mb, n: 16, p: pb, a: aBlock, aRowStride: ars, aColStride: acs,
                        b: packed + s * pb * 16, ldb: 16, c: cBlock + s * 16, ldc: n, accumulate: first)
                }
                if strips * 16 < nb {
                    gemmKernel(
                        m: mb, n: nb - strips * 16, p: pb, a: aBlock, aRowStride: ars, aColStride: acs,
                        b: source + strips * 16, ldb: n, c: cBlock + strips * 16, ldc: n, accumulate: first)
                }
                ic += mb
            }
            pc += pb
        }
        jc += nb
    }
}

/// Copies `strips` 16-column strips of a `rows`-row block of B (row stride `rowStride`) to `out`, strip
/// after strip, each row-major `rows × 16`.
@inline(__always)
private func packStrips(
    _ source: UnsafePointer<Float>, rowStride: Int, rows: Int, strips: Int, into out: UnsafeMutablePointer<Float>
) {
    for s in 0..<strips {
        let strip = out + s * rows * 16
        for q in 0..<rows {
            let row = source + q * rowStride + s * 16
            store8(load8(row), strip + q * 16)
            store8(load8(row + 8), strip + q * 16 + 8)
        }
    }
}

/// Copies a `rows × depth` block of A (element `(i, q)` at `i·rowStride + q·colStride`) to `out`,
/// row-major.
@inline(__always)
private func packRows(
    _ a: UnsafePointer<Float>, rowStride: Int, colStride: Int, rows: Int, depth: Int,
    into out: UnsafeMutablePointer<Float>
) {
    for q in 0..<depth {
        let column = a + q * colStride
        for i in 0..<rows { out[i * depth + q] = column[i * rowStride] }
    }
}

/// Blocking of large products: B blocks of at most 256 × 256 floats (256 KiB, within a 512 KiB–1 MiB L2).
let gemmDepthBlock = 256
let gemmColumnBlock = 256
let gemmBlockFloats = 256 * 256
let gemmRowBlock = 256

/// `C (+)= A·B` for one block, unpacked: rows in fours (`gemmFourRows`), then one by one (`gemmOneRow`).
@inline(__always)
private func gemmKernel(
    m: Int, n: Int, p: Int,
    a: UnsafePointer<Float>, aRowStride: Int, aColStride: Int,
    b: UnsafePointer<Float>, ldb: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
) {
    var i = 0
    while i + 4 <= m {
        gemmFourRows(
            n: n, p: p, a: a + i * aRowStride, aRowStride: aRowStride, aColStride: aColStride, b: b, ldb: ldb,
            c: c + i * ldc, ldc: ldc, accumulate: accumulate)
        i += 4
    }
    while i < m {
        gemmOneRow(
            n: n, p: p, a: a + i * aRowStride, aColStride: aColStride, b: b, ldb: ldb, c: c + i * ldc,
            accumulate: accumulate)
        i += 1
    }
}

/// Four rows of C: 16 columns at a time (eight SIMD8 accumulators), then `gemmFourRowsTail`.
@inline(__always)
private func gemmFourRows(
    n: Int, p: Int, a a0: UnsafePointer<Float>, aRowStride ars: Int, aColStride acs: Int,
    b: UnsafePointer<Float>, ldb: Int, c c0: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
) {
    let c1 = c0 + ldc
    let c2 = c1 + ldc
    let c3 = c2 + ldc
    var j = 0
    while j + 16 <= n {
        var x0 = V8(), y0 = V8(), x1 = V8(), y1 = V8()
        var x2 = V8(), y2 = V8(), x3 = V8(), y3 = V8()
        if accumulate {
            x0 = load8(c0 + j); y0 = load8(c0 + j + 8)
            x1 = load8(c1 + j); y1 = load8(c1 + j + 8)
            x2 = load8(c2 + j); y2 = load8(c2 + j + 8)
            x3 = load8(c3 + j); y3 = load8(c3 + j + 8)
        }
        // A's four values of step q at `ap`, `ap + ars`, …; pointers advance (no index products, no
        // overflow checks in the loop).
        var bp = b + j
        var ap = a0
        var q = 0
        while q < p {
            let b0 = load8(bp)
            let b1 = load8(bp + 8)
            let s0 = V8(repeating: ap[0])
            let s1 = V8(repeating: ap[ars])
            let s2 = V8(repeating: ap[ars &* 2])
            let s3 = V8(repeating: ap[ars &* 3])
            x0 = s0 * b0 + x0; y0 = s0 * b1 + y0
            x1 = s1 * b0 + x1; y1 = s1 * b1 + y1
            x2 = s2 * b0 + x2; y2 = s2 * b1 + y2
            x3 = s3 * b0 + x3; y3 = s3 * b1 + y3
            bp += ldb
            ap += acs
            q &+= 1
        }
        store8(x0, c0 + j); store8(y0, c0 + j + 8)
        store8(x1, c1 + j); store8(y1, c1 + j + 8)
        store8(x2, c2 + j); store8(y2, c2 + j + 8)
        store8(x3, c3 + j); store8(y3, c3 + j + 8)
        j += 16
    }
    gemmFourRowsTail(
        from: j, n: n, p: p, a: a0, aRowStride: ars, aColStride: acs, b: b, ldb: ldb, c: c0, ldc: ldc,
        accumulate: accumulate)
}

/// Columns `j..<n` of four rows of C: 8 at a time, then one by one.
@inline(__always)
private func gemmFourRowsTail(
    from start: Int, n: Int, p: Int, a a0: UnsafePointer<Float>, aRowStride ars: Int, aColStride acs: Int,
    b: UnsafePointer<Float>, ldb: Int, c c0: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
) {
    let c1 = c0 + ldc
    let c2 = c1 + ldc
    let c3 = c2 + ldc
    var j = start
    while j + 8 <= n {
        var x0 = V8(), x1 = V8(), x2 = V8(), x3 = V8()
        if accumulate {
            x0 = load8(c0 + j); x1 = load8(c1 + j); x2 = load8(c2 + j); x3 = load8(c3 + j)
        }
        var bp = b + j
        var ap = a0
        for _ in 0..<p {
            let b0 = load8(bp)
            x0 = V8(repeating: ap[0]) * b0 + x0
            x1 = V8(repeating: ap[ars]) * b0 + x1
            x2 = V8(repeating: ap[ars &* 2]) * b0 + x2
            x3 = V8(repeating: ap[ars &* 3]) * b0 + x3
            bp += ldb
            ap += acs
        }
        store8(x0, c0 + j); store8(x1, c1 + j); store8(x2, c2 + j); store8(x3, c3 + j)
        j += 8
    }
    while j < n {
        for r in 0..<4 {
            let ar = a0 + r * ars
            let cr = c0 + r * ldc
            var sum: Float = accumulate ? cr[j] : 0
            for q in 0..<p { sum = ar[q * acs] * b[q * ldb + j] + sum }
            cr[j] = sum
        }
        j += 1
    }
}

/// One row of C: 16, then 8 columns at a time, then one by one.
@inline(__always)
private func gemmOneRow(
    n: Int, p: Int, a ar: UnsafePointer<Float>, aColStride acs: Int, b: UnsafePointer<Float>, ldb: Int,
    c cr: UnsafeMutablePointer<Float>, accumulate: Bool
) {
    var j = 0
    while j + 16 <= n {
        var x = accumulate ? load8(cr + j) : V8()
        var y = accumulate ? load8(cr + j + 8) : V8()
        var bp = b + j
        var ap = ar
        for _ in 0..<p {
            let s = V8(repeating: ap.pointee)
            x = s * load8(bp) + x
            y = s * load8(bp + 8) + y
            bp += ldb
            ap += acs
        }
        store8(x, cr + j); store8(y, cr + j + 8)
        j += 16
    }
    while j + 8 <= n {
        var x = accumulate ? load8(cr + j) : V8()
        var bp = b + j
        for q in 0..<p {
            x = V8(repeating: ar[q * acs]) * load8(bp) + x
            bp += ldb
        }
        store8(x, cr + j)
        j += 8
    }
    while j < n {
        var sum: Float = accumulate ? cr[j] : 0
        for q in 0..<p { sum = ar[q * acs] * b[q * ldb + j] + sum }
        cr[j] = sum
        j += 1
    }
}

/// `out[n×m] = inᵀ` for a row-major `m × n` matrix.
public func transpose(rows m: Int, columns n: Int, _ input: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
    transposeRows(0..<m, columns: n, of: input, rows: m, into: out)
}

/// Rows `block` of `transpose`: `out[j·m + i] = input[i·n + j]` for `i` in `block`, every column `j`
/// (a job writes `Wᵀ` in blocks of rows this way). Tiles of 16 rows × 8 columns are transposed in
/// registers (`transpose8x8`, twice) and stored as eight 64-byte runs, so that each output cache line is
/// written whole even when `m` floats are 4 KiB (stores at that stride share one L1 set); eight-row
/// tiles and single rows finish the block. `O(|block|·n)`.
public func transposeRows(
    _ block: Range<Int>, columns n: Int, of input: UnsafePointer<Float>, rows m: Int,
    into out: UnsafeMutablePointer<Float>
) {
    var i = block.lowerBound
    while i + 16 <= block.upperBound {
        transposeTile(rows: i, count: 16, columns: n, of: input, rows: m, into: out)
        i += 16
    }
    if i + 8 <= block.upperBound {
        transposeTile(rows: i, count: 8, columns: n, of: input, rows: m, into: out)
        i += 8
    }
    while i < block.upperBound {
        let row = input + i * n
        var o = out + i
        for j in 0..<n {
            o.pointee = row[j]
            o += m
        }
        i += 1
    }
}

/// Rows `i..<i + count` (`count` 8 or 16) of `transposeRows`: 8 columns at a time through registers,
/// the last `n mod 8` columns one by one.
@inline(__always)
private func transposeTile(
    rows i: Int, count: Int, columns n: Int, of input: UnsafePointer<Float>, rows m: Int,
    into out: UnsafeMutablePointer<Float>
) {
    var j = 0
    while j + 8 <= n {
        var h = 0
        while h < count {
            let t = transpose8x8(input + (i + h) * n + j, stride: n)
            let o = out + j * m + i + h
            store8(t.0, o); store8(t.1, o + m); store8(t.2, o + 2 * m); store8(t.3, o + 3 * m)
            store8(t.4, o + 4 * m); store8(t.5, o + 5 * m); store8(t.6, o + 6 * m); store8(t.7, o + 7 * m)
            h += 8
        }
        j += 8
    }
    while j < n {
        for h in 0..<count { out[j * m + i + h] = input[(i + h) * n + j] }
        j += 1
    }
}

/// The eight columns of the 8 × 8 block at `x` (rows `stride` floats apart): column `c` is
/// `(x[c], x[stride + c], …, x[7·stride + c])`. Three rounds of even/odd de-interleaving of row pairs
/// (`vshufps`/`vpermpd` pairs on AVX2), each moving one bit of the row index into the lane index.
@inline(__always)
func transpose8x8(_ x: UnsafePointer<Float>, stride: Int) -> (V8, V8, V8, V8, V8, V8, V8, V8) {
    let (a0, a1) = deinterleave(load8(x), load8(x + stride))
    let (a2, a3) = deinterleave(load8(x + 2 * stride), load8(x + 3 * stride))
    let (a4, a5) = deinterleave(load8(x + 4 * stride), load8(x + 5 * stride))
    let (a6, a7) = deinterleave(load8(x + 6 * stride), load8(x + 7 * stride))
    let (b0, b1) = deinterleave(a0, a2)
    let (b2, b3) = deinterleave(a1, a3)
    let (b4, b5) = deinterleave(a4, a6)
    let (b6, b7) = deinterleave(a5, a7)
    let (c0, c4) = deinterleave(b0, b4)
    let (c2, c6) = deinterleave(b1, b5)
    let (c1, c5) = deinterleave(b2, b6)
    let (c3, c7) = deinterleave(b3, b7)
    return (c0, c1, c2, c3, c4, c5, c6, c7)
}

/// `(x‖y)`'s even and odd elements: `(x₀, x₂, x₄, x₆, y₀, y₂, y₄, y₆)` and `(x₁, x₃, …, y₇)`.
@inline(__always)
private func deinterleave(_ x: V8, _ y: V8) -> (V8, V8) {
    let z = SIMD16(lowHalf: x, highHalf: y)
    return (z.evenHalf, z.oddHalf)
}
