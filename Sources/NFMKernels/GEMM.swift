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
    let ars = aRowStride
    let acs = aColStride
    var i = 0
    while i + 4 <= m {
        let a0 = a + i * ars
        let a1 = a0 + ars
        let a2 = a1 + ars
        let a3 = a2 + ars
        let c0 = c + i * n
        let c1 = c0 + n
        let c2 = c1 + n
        let c3 = c2 + n
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
            var bp = b + j
            var q = 0
            while q < p {
                let b0 = load8(bp)
                let b1 = load8(bp + 8)
                let s0 = V8(repeating: a0[q * acs])
                let s1 = V8(repeating: a1[q * acs])
                let s2 = V8(repeating: a2[q * acs])
                let s3 = V8(repeating: a3[q * acs])
                x0 = s0 * b0 + x0; y0 = s0 * b1 + y0
                x1 = s1 * b0 + x1; y1 = s1 * b1 + y1
                x2 = s2 * b0 + x2; y2 = s2 * b1 + y2
                x3 = s3 * b0 + x3; y3 = s3 * b1 + y3
                bp += n
                q += 1
            }
            store8(x0, c0 + j); store8(y0, c0 + j + 8)
            store8(x1, c1 + j); store8(y1, c1 + j + 8)
            store8(x2, c2 + j); store8(y2, c2 + j + 8)
            store8(x3, c3 + j); store8(y3, c3 + j + 8)
            j += 16
        }
        while j + 8 <= n {
            var x0 = V8(), x1 = V8(), x2 = V8(), x3 = V8()
            if accumulate {
                x0 = load8(c0 + j); x1 = load8(c1 + j); x2 = load8(c2 + j); x3 = load8(c3 + j)
            }
            var bp = b + j
            for q in 0..<p {
                let b0 = load8(bp)
                x0 = V8(repeating: a0[q * acs]) * b0 + x0
                x1 = V8(repeating: a1[q * acs]) * b0 + x1
                x2 = V8(repeating: a2[q * acs]) * b0 + x2
                x3 = V8(repeating: a3[q * acs]) * b0 + x3
                bp += n
            }
            store8(x0, c0 + j); store8(x1, c1 + j); store8(x2, c2 + j); store8(x3, c3 + j)
            j += 8
        }
        while j < n {
            for r in 0..<4 {
                let ar = a0 + r * ars
                let cr = c0 + r * n
                var sum: Float = accumulate ? cr[j] : 0
                for q in 0..<p { sum = ar[q * acs] * b[q * n + j] + sum }
                cr[j] = sum
            }
            j += 1
        }
        i += 4
    }
    while i < m {
        let ar = a + i * ars
        let cr = c + i * n
        var j = 0
        while j + 16 <= n {
            var x = accumulate ? load8(cr + j) : V8()
            var y = accumulate ? load8(cr + j + 8) : V8()
            var bp = b + j
            for q in 0..<p {
                let s = V8(repeating: ar[q * acs])
                x = s * load8(bp) + x
                y = s * load8(bp + 8) + y
                bp += n
            }
            store8(x, cr + j); store8(y, cr + j + 8)
            j += 16
        }
        while j + 8 <= n {
            var x = accumulate ? load8(cr + j) : V8()
            var bp = b + j
            for q in 0..<p {
                x = V8(repeating: ar[q * acs]) * load8(bp) + x
                bp += n
            }
            store8(x, cr + j)
            j += 8
        }
        while j < n {
            var sum: Float = accumulate ? cr[j] : 0
            for q in 0..<p { sum = ar[q * acs] * b[q * n + j] + sum }
            cr[j] = sum
            j += 1
        }
        i += 1
    }
}

/// `out[n×m] = inᵀ` for a row-major `m × n` matrix.
public func transpose(rows m: Int, columns n: Int, _ input: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
    for i in 0..<m {
        for j in 0..<n { out[j * m + i] = input[i * n + j] }
    }
}
