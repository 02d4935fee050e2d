/// The ANOVA kernel of order 3 in linear time (Blondel et al., *Higher-Order Factorization Machines*,
/// NIPS 2016), per factor `f`: `A³_f(x) = Σ_{i<j<l} aᵢ aⱼ aₗ` with `aᵢ = xᵢ qᵢ,f`, computed from the power
/// sums `s_m = Σᵢ aᵢᵐ` by the Newton–Girard identity `A³ = (s₁³ − 3 s₁ s₂ + 2 s₃) / 6`.
///
/// Writes `s₁` to `sum`, `s₂` to `sumSquares` (both needed by the backward pass) and `A³` to `kernel`,
/// each `rowCount × k`. The order-3 term of a HOFM is `Σ_f A³_f(x)`.
///
/// Numerical note: the identity cancels terms of size `s₁³` to leave `A³`; in Float this is accurate
/// for the small embeddings of factorization machines (|aᵢ| ≲ 1), not for large values.
public func anova3Forward(
    _ x: SparseRows, factors k: Int, embeddings: UnsafePointer<Float>, sum: UnsafeMutablePointer<Float>,
    sumSquares: UnsafeMutablePointer<Float>, kernel: UnsafeMutablePointer<Float>
) {
    let sixth = V8(repeating: 1.0 / 6.0)
    let three = V8(repeating: 3)
    let two = V8(repeating: 2)
    for r in 0..<x.rowCount {
        let range = x.range(ofRow: r)
        let s1p = sum + r * k
        let s2p = sumSquares + r * k
        let out = kernel + r * k
        var c = 0
        while c + 8 <= k {
            var s1 = V8(), s2 = V8(), s3 = V8()
            if let values = x.values {
                for e in range {
                    let a = V8(repeating: values[e]) * load8(embeddings + Int(x.indices[e]) * k + c)
                    let a2 = a * a
                    s1 += a
                    s2 += a2
                    s3 = a2 * a + s3
                }
            } else {
                for e in range {
                    let a = load8(embeddings + Int(x.indices[e]) * k + c)
                    let a2 = a * a
                    s1 += a
                    s2 += a2
                    s3 = a2 * a + s3
                }
            }
            store8(s1, s1p + c)
            store8(s2, s2p + c)
            store8(sixth * (s1 * s1 * s1 - three * s1 * s2 + two * s3), out + c)
            c += 8
        }
        while c < k {
            var s1: Float = 0, s2: Float = 0, s3: Float = 0
            for e in range {
                let a = (x.values?[e] ?? 1) * embeddings[Int(x.indices[e]) * k + c]
                s1 += a
                s2 += a * a
                s3 += a * a * a
            }
            s1p[c] = s1
            s2p[c] = s2
            out[c] = (s1 * s1 * s1 - 3 * s1 * s2 + 2 * s3) / 6
            c += 1
        }
    }
}

/// Backward of `anova3Forward`: `∂A³_f/∂aᵢ = (s₁² − s₂)/2 − s₁aᵢ + aᵢ²` (the order-2 ANOVA kernel of the
/// other entries), so `∂L/∂qᵢ,f += xᵢ · g_f · ((s₁² − s₂)/2 − s₁aᵢ + aᵢ²)` with `g = ∂L/∂A³`. Entry `e`
/// accumulates into row `entrySlots[e]` of `gradEmbeddings` (`slots × k`).
public func anova3Backward(
    _ x: SparseRows, factors k: Int, embeddings: UnsafePointer<Float>, sum: UnsafePointer<Float>,
    sumSquares: UnsafePointer<Float>, gradKernel: UnsafePointer<Float>, entrySlots: UnsafePointer<Int32>,
    gradEmbeddings: UnsafeMutablePointer<Float>
) {
    let first = x.firstEntry
    let half = V8(repeating: 0.5)
    for r in 0..<x.rowCount {
        let s1p = sum + r * k
        let s2p = sumSquares + r * k
        let g = gradKernel + r * k
        for e in x.range(ofRow: r) {
            let q = embeddings + Int(x.indices[e]) * k
            let out = gradEmbeddings + Int(entrySlots[e - first]) * k
            let xv = x.values?[e] ?? 1
            let x8 = V8(repeating: xv)
            var c = 0
            while c + 8 <= k {
                let s1 = load8(s1p + c)
                let a = x8 * load8(q + c)
                let d = half * (s1 * s1 - load8(s2p + c)) - s1 * a + a * a
                store8(x8 * load8(g + c) * d + load8(out + c), out + c)
                c += 8
            }
            while c < k {
                let s1 = s1p[c]
                let a = xv * q[c]
                let d = 0.5 * (s1 * s1 - s2p[c]) - s1 * a + a * a
                out[c] += xv * g[c] * d
                c += 1
            }
        }
    }
}

/// `out[r] += Σ_j a[r, j] · m[r, j]` (a pooled vector summed under an element-wise mask), or
/// `out[r] += Σ_j a[r, j]` when `mask` is nil.
public func addRowSums(
    rows: Int, width n: Int, _ a: UnsafePointer<Float>, mask: UnsafePointer<Float>?, into out: UnsafeMutablePointer<Float>
) {
    for r in 0..<rows {
        let ar = a + r * n
        var acc = V8()
        var j = 0
        if let mask {
            let mr = mask + r * n
            while j + 8 <= n {
                acc = load8(ar + j) * load8(mr + j) + acc
                j += 8
            }
            var total = acc.sum()
            while j < n {
                total += ar[j] * mr[j]
                j += 1
            }
            out[r] += total
        } else {
            while j + 8 <= n {
                acc += load8(ar + j)
                j += 8
            }
            var total = acc.sum()
            while j < n {
                total += ar[j]
                j += 1
            }
            out[r] += total
        }
    }
}

/// Backward of `addRowSums`: `grad[r, j] = g[r] · m[r, j]` (or `g[r]`).
public func rowSumsBackward(
    rows: Int, width n: Int, grad g: UnsafePointer<Float>, mask: UnsafePointer<Float>?, into out: UnsafeMutablePointer<Float>
) {
    for r in 0..<rows {
        let o = out + r * n
        let gr = V8(repeating: g[r])
        var j = 0
        if let mask {
            let mr = mask + r * n
            while j + 8 <= n {
                store8(gr * load8(mr + j), o + j)
                j += 8
            }
            while j < n {
                o[j] = g[r] * mr[j]
                j += 1
            }
        } else {
            (o).update(repeating: g[r], count: n)
        }
    }
}
