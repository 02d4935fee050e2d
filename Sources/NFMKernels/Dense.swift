import RealModule

// Element-wise and column-wise kernels on row-major `rows × n` matrices.

/// `x[r, j] += v[j]` for every row.
public func addRowVector(rows: Int, width n: Int, _ x: UnsafeMutablePointer<Float>, _ v: UnsafePointer<Float>) {
    for r in 0..<rows {
        let xr = x + r * n
        var j = 0
        while j + 8 <= n {
            store8(load8(xr + j) + load8(v + j), xr + j)
            j += 8
        }
        while j < n {
            xr[j] += v[j]
            j += 1
        }
    }
}

/// `x[r, j] = v[j]` for `rows` rows of width `n` (a bias broadcast before `x += a·W`): SIMD copies, no call
/// per row. O(rows·n).
public func broadcastRow(rows: Int, width n: Int, _ v: UnsafePointer<Float>, into x: UnsafeMutablePointer<Float>) {
    var xr = x
    for _ in 0..<rows {
        defer { xr += n }
        var j = 0
        while j &+ 8 <= n {
            store8(load8(v + j), xr + j)
            j &+= 8
        }
        while j < n {
            xr[j] = v[j]
            j += 1
        }
    }
}

/// `out[j] = Σ_r x[r, j]` (rows summed in order); with `rowStride` (default `n`) the `n` columns are a
/// block of wider rows. With `accumulate` the rows are added on to `out` (a sum continued over later
/// rows: the same bits as one call over all the rows).
public func columnSums(
    rows: Int, width n: Int, rowStride: Int? = nil, _ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
    accumulate: Bool = false
) {
    let stride = rowStride ?? n
    // Column blocks of 32 (then 8, then 1) summed down the rows in registers: each column's sum is still
    // `((out + x₀) + x₁) + …` in row order, without a load and store of `out` per row.
    var j = 0
    while j + 32 <= n {
        let o = out + j
        var a0 = accumulate ? load8(o) : V8(), a1 = accumulate ? load8(o + 8) : V8()
        var a2 = accumulate ? load8(o + 16) : V8(), a3 = accumulate ? load8(o + 24) : V8()
        var p = x + j
        for _ in 0..<rows {
            a0 = a0 + load8(p); a1 = a1 + load8(p + 8); a2 = a2 + load8(p + 16); a3 = a3 + load8(p + 24)
            p += stride
        }
        store8(a0, o); store8(a1, o + 8); store8(a2, o + 16); store8(a3, o + 24)
        j += 32
    }
    while j + 8 <= n {
        var a0 = accumulate ? load8(out + j) : V8()
        var p = x + j
        for _ in 0..<rows {
            a0 = a0 + load8(p)
            p += stride
        }
        store8(a0, out + j)
        j += 8
    }
    while j < n {
        var a: Float = accumulate ? out[j] : 0
        var p = x + j
        for _ in 0..<rows {
            a += p.pointee
            p += stride
        }
        out[j] = a
        j += 1
    }
}

/// `x[r, j] = x[r, j] · scale[j] + shift[j]` (batch norm at inference, folded).
public func scaleShiftColumns(
    rows: Int, width n: Int, _ x: UnsafeMutablePointer<Float>, scale: UnsafePointer<Float>, shift: UnsafePointer<Float>
) {
    for r in 0..<rows {
        let xr = x + r * n
        var j = 0
        while j + 8 <= n {
            store8(load8(xr + j) * load8(scale + j) + load8(shift + j), xr + j)
            j += 8
        }
        while j < n {
            xr[j] = xr[j] * scale[j] + shift[j]
            j += 1
        }
    }
}

/// Batch normalisation with batch statistics (Ioffe & Szegedy 2015), in place on `x`:
/// `x̂ = (x − μ)/√(σ² + ε)`, `x ← γx̂ + β`. μ and the biased σ² are per column over the `rows` rows.
/// Writes `x̂` to `normalized`, and μ, σ², 1/√(σ² + ε) to `mean`, `variance`, `invStd`.
/// (`batchNormStatistics` then `batchNormApply` on every row.)
public func batchNormForwardTraining(
    rows: Int, width n: Int, _ x: UnsafeMutablePointer<Float>,
    gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, epsilon: Float,
    normalized: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
    variance: UnsafeMutablePointer<Float>, invStd: UnsafeMutablePointer<Float>
) {
    batchNormStatistics(rows: rows, width: n, x, epsilon: epsilon, mean: mean, variance: variance, invStd: invStd)
    batchNormApply(
        rows: rows, width: n, x, gamma: gamma, beta: beta, mean: mean, invStd: invStd, normalized: normalized)
}

/// The batch statistics of `batchNormForwardTraining`: per column, μ = Σ_r x/rows (rows summed in order),
/// σ² = Σ_r (x − μ)²/rows, and 1/√(σ² + ε). O(rows·n). With `rowStride` (default `n`) the `n` columns
/// are a block of wider rows (each column's statistics depend on that column alone).
public func batchNormStatistics(
    rows: Int, width n: Int, rowStride: Int? = nil, _ x: UnsafePointer<Float>, epsilon: Float,
    mean: UnsafeMutablePointer<Float>, variance: UnsafeMutablePointer<Float>, invStd: UnsafeMutablePointer<Float>
) {
    let stride = rowStride ?? n
    columnSums(rows: rows, width: n, rowStride: stride, x, into: mean)
    batchNormFinishMean(rows: rows, width: n, mean: mean)
    squaredDeviationSums(rows: rows, width: n, rowStride: stride, x, mean: mean, into: variance)
    batchNormFinishVariance(rows: rows, width: n, epsilon: epsilon, variance: variance, invStd: invStd)
}

/// `mean[j] ← mean[j] · (1/rows)`: column sums of `rows` rows made means (`batchNormStatistics`). O(n).
public func batchNormFinishMean(rows: Int, width n: Int, mean: UnsafeMutablePointer<Float>) {
    let scale = 1 / Float(rows)
    for j in 0..<n { mean[j] *= scale }
}

/// `μ̄[j] ← decay·μ̄[j] + (1 − decay)·mean[j]` and the same for `σ̄²` from `variance`: batch norm's moving
/// averages after a training batch. O(n).
public func batchNormMovingAverages(
    width n: Int, decay: Float, mean: UnsafePointer<Float>, variance: UnsafePointer<Float>,
    movingMean: UnsafeMutablePointer<Float>, movingVariance: UnsafeMutablePointer<Float>
) {
    for j in 0..<n {
        movingMean[j] = decay * movingMean[j] + (1 - decay) * mean[j]
        movingVariance[j] = decay * movingVariance[j] + (1 - decay) * variance[j]
    }
}

/// `variance[j] ← variance[j] · (1/rows)` and `invStd[j] = 1/√(variance[j] + ε)`: sums of squared
/// deviations over `rows` rows made the biased variance (`batchNormStatistics`). O(n).
public func batchNormFinishVariance(
    rows: Int, width n: Int, epsilon: Float, variance: UnsafeMutablePointer<Float>, invStd: UnsafeMutablePointer<Float>
) {
    let scale = 1 / Float(rows)
    for j in 0..<n {
        variance[j] *= scale
        invStd[j] = 1 / (variance[j] + epsilon).squareRoot()
    }
}

/// `variance[j] = Σ_r (x[r, j] − mean[j])²`, rows summed in order; with `accumulate` added on to
/// `variance` (continued over later rows, the same bits as one call). O(rows·n).
public func squaredDeviationSums(
    rows: Int, width n: Int, rowStride: Int? = nil, _ x: UnsafePointer<Float>, mean: UnsafePointer<Float>,
    into variance: UnsafeMutablePointer<Float>, accumulate: Bool = false
) {
    let stride = rowStride ?? n
    // Column blocks summed down the rows in registers (as `columnSums`): `(d² + v)` per row, in order.
    var j = 0
    while j + 32 <= n {
        let o = variance + j
        var a0 = accumulate ? load8(o) : V8(), a1 = accumulate ? load8(o + 8) : V8()
        var a2 = accumulate ? load8(o + 16) : V8(), a3 = accumulate ? load8(o + 24) : V8()
        let m0 = load8(mean + j), m1 = load8(mean + j + 8), m2 = load8(mean + j + 16), m3 = load8(mean + j + 24)
        var p = x + j
        for _ in 0..<rows {
            let d0 = load8(p) - m0, d1 = load8(p + 8) - m1, d2 = load8(p + 16) - m2, d3 = load8(p + 24) - m3
            a0 = d0 * d0 + a0; a1 = d1 * d1 + a1; a2 = d2 * d2 + a2; a3 = d3 * d3 + a3
            p += stride
        }
        store8(a0, o); store8(a1, o + 8); store8(a2, o + 16); store8(a3, o + 24)
        j += 32
    }
    while j + 8 <= n {
        var a0 = accumulate ? load8(variance + j) : V8()
        let m0 = load8(mean + j)
        var p = x + j
        for _ in 0..<rows {
            let d = load8(p) - m0
            a0 = d * d + a0
            p += stride
        }
        store8(a0, variance + j)
        j += 8
    }
    while j < n {
        var a: Float = accumulate ? variance[j] : 0
        let m = mean[j]
        var p = x + j
        for _ in 0..<rows {
            let d = p.pointee - m
            a += d * d
            p += stride
        }
        variance[j] = a
        j += 1
    }
}

/// Normalises `rows` rows of `x` in place with given statistics: `x̂ = (x − μ)·invStd` (to
/// `normalized`), `x ← γx̂ + β`. Rows are independent. O(rows·n).
public func batchNormApply(
    rows: Int, width n: Int, _ x: UnsafeMutablePointer<Float>, gamma: UnsafePointer<Float>,
    beta: UnsafePointer<Float>, mean: UnsafePointer<Float>, invStd: UnsafePointer<Float>,
    normalized: UnsafeMutablePointer<Float>
) {
    let n8 = n & ~7
    // Column blocks of 16 down the rows, the statistics and parameters held in registers.
    var j = 0
    while j + 16 <= n8 {
        let (m0, m1, s0, s1) = (load8(mean + j), load8(mean + j + 8), load8(invStd + j), load8(invStd + j + 8))
        let (c0, c1, b0, b1) = (load8(gamma + j), load8(gamma + j + 8), load8(beta + j), load8(beta + j + 8))
        var (p, q) = (x + j, normalized + j)
        for _ in 0..<rows {
            let h0 = (load8(p) - m0) * s0, h1 = (load8(p + 8) - m1) * s1
            store8(h0, q); store8(h1, q + 8)
            store8(h0 * c0 + b0, p); store8(h1 * c1 + b1, p + 8)
            p += n
            q += n
        }
        j += 16
    }
    while j < n8 {
        let (m0, s0, c0, b0) = (load8(mean + j), load8(invStd + j), load8(gamma + j), load8(beta + j))
        var (p, q) = (x + j, normalized + j)
        for _ in 0..<rows {
            let h0 = (load8(p) - m0) * s0
            store8(h0, q)
            store8(h0 * c0 + b0, p)
            p += n
            q += n
        }
        j += 8
    }
    for r in 0..<rows {
        let xr = x + r * n
        let hr = normalized + r * n
        for j in n8..<n {
            let h = (xr[j] - mean[j]) * invStd[j]
            hr[j] = h
            xr[j] = h * gamma[j] + beta[j]
        }
    }
}

/// `batchNormApply`, then ReLU (`relu`) and, with `mask`, the dropout product `dropped = y ⊙ mask`, in
/// one pass over the rows instead of three: per value the same operations as `batchNormApply`,
/// `activationForward(.relu, …)` (`y > 0 ? y : +0`) and `multiply`, so the same bits. The width must be
/// a multiple of 8 (then those passes have no scalar tail either, whose `max` differs on NaN).
/// O(rows·n).
public func batchNormApplyActivated(
    rows: Int, width n: Int, _ x: UnsafeMutablePointer<Float>, gamma: UnsafePointer<Float>,
    beta: UnsafePointer<Float>, mean: UnsafePointer<Float>, invStd: UnsafePointer<Float>,
    normalized: UnsafeMutablePointer<Float>, relu: Bool, mask: UnsafePointer<Float>?, dropped: UnsafeMutablePointer<Float>
) {
    precondition(n % 8 == 0, "batchNormApplyActivated: width must be a multiple of 8")
    var j = 0
    #if NFM_AVX512
    while j + 16 <= n {
        batchNormApplyStrip(
            V16.self, column: j, rows: rows, width: n, x, gamma: gamma, beta: beta, mean: mean, invStd: invStd,
            normalized: normalized, relu: relu, mask: mask, dropped: dropped)
        j &+= 16
    }
    #endif
    while j < n {
        batchNormApplyStrip(
            V8.self, column: j, rows: rows, width: n, x, gamma: gamma, beta: beta, mean: mean, invStd: invStd,
            normalized: normalized, relu: relu, mask: mask, dropped: dropped)
        j &+= 8
    }
}

/// Columns `column ..< column + Lanes.width` of `batchNormApplyActivated`, down the rows.
@inline(__always)
private func batchNormApplyStrip<Lanes: FloatLanes>(
    _: Lanes.Type, column j: Int, rows: Int, width n: Int, _ x: UnsafeMutablePointer<Float>,
    gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, mean: UnsafePointer<Float>, invStd: UnsafePointer<Float>,
    normalized: UnsafeMutablePointer<Float>, relu: Bool, mask: UnsafePointer<Float>?, dropped: UnsafeMutablePointer<Float>
) {
    let (m0, s0, c0, b0) = (Lanes.load(mean + j), Lanes.load(invStd + j), Lanes.load(gamma + j), Lanes.load(beta + j))
    var (p, q, d) = (x + j, normalized + j, dropped + j)
    var k = mask.map { $0 + j }
    for _ in 0..<rows {
        let h0 = (Lanes.load(p) - m0) * s0
        h0.store(q)
        var y = h0 * c0 + b0
        if relu { y = y.positivePart }
        y.store(p)
        if let mk = k {
            (y * Lanes.load(mk)).store(d)
            k = mk + n
        }
        p += n
        q += n
        d += n
    }
}

/// Backward of `batchNormForwardTraining`, in place on `grad` (∂L/∂y in, ∂L/∂x out):
/// `∂β = Σ_r g`, `∂γ = Σ_r g·x̂`, `∂x = γ·invStd/N · (N·g − ∂β − x̂·∂γ)`.
/// (`batchNormParameterGradients` then `batchNormInputGradient` on every row.)
public func batchNormBackward(
    rows: Int, width n: Int, grad: UnsafeMutablePointer<Float>, normalized: UnsafePointer<Float>,
    gamma: UnsafePointer<Float>, invStd: UnsafePointer<Float>,
    gradGamma: UnsafeMutablePointer<Float>, gradBeta: UnsafeMutablePointer<Float>
) {
    batchNormParameterGradients(
        rows: rows, width: n, grad: grad, normalized: normalized, gradGamma: gradGamma, gradBeta: gradBeta)
    batchNormInputGradient(
        rows: rows, batchRows: rows, width: n, grad: grad, normalized: normalized, gamma: gamma, invStd: invStd,
        gradGamma: gradGamma, gradBeta: gradBeta)
}

/// `∂β = Σ_r g` and `∂γ = Σ_r g·x̂` per column, rows summed in order. O(rows·n). With `rowStride`
/// (default `n`) the `n` columns are a block of wider rows; with `accumulate` the rows are added on to
/// `gradGamma` and `gradBeta` (continued over later rows, the same bits as one call).
public func batchNormParameterGradients(
    rows: Int, width n: Int, rowStride: Int? = nil, grad: UnsafePointer<Float>, normalized: UnsafePointer<Float>,
    gradGamma: UnsafeMutablePointer<Float>, gradBeta: UnsafeMutablePointer<Float>, accumulate: Bool = false
) {
    let stride = rowStride ?? n
    // Column blocks of 16 (then 8, then 1) summed down the rows in registers (as `columnSums`).
    var j = 0
    while j + 16 <= n {
        var b0 = accumulate ? load8(gradBeta + j) : V8(), b1 = accumulate ? load8(gradBeta + j + 8) : V8()
        var c0 = accumulate ? load8(gradGamma + j) : V8(), c1 = accumulate ? load8(gradGamma + j + 8) : V8()
        var (g, h) = (grad + j, normalized + j)
        for _ in 0..<rows {
            let g0 = load8(g), g1 = load8(g + 8)
            b0 = g0 + b0; b1 = g1 + b1
            c0 = g0 * load8(h) + c0; c1 = g1 * load8(h + 8) + c1
            g += stride
            h += stride
        }
        store8(b0, gradBeta + j); store8(b1, gradBeta + j + 8)
        store8(c0, gradGamma + j); store8(c1, gradGamma + j + 8)
        j += 16
    }
    while j + 8 <= n {
        var b0 = accumulate ? load8(gradBeta + j) : V8()
        var c0 = accumulate ? load8(gradGamma + j) : V8()
        var (g, h) = (grad + j, normalized + j)
        for _ in 0..<rows {
            let g0 = load8(g)
            b0 = g0 + b0
            c0 = g0 * load8(h) + c0
            g += stride
            h += stride
        }
        store8(b0, gradBeta + j)
        store8(c0, gradGamma + j)
        j += 8
    }
    while j < n {
        var b: Float = accumulate ? gradBeta[j] : 0
        var c: Float = accumulate ? gradGamma[j] : 0
        var (g, h) = (grad + j, normalized + j)
        for _ in 0..<rows {
            b += g.pointee
            c += g.pointee * h.pointee
            g += stride
            h += stride
        }
        gradBeta[j] = b
        gradGamma[j] = c
        j += 1
    }
}

/// `∂x = γ·invStd/N · (N·g − ∂β − x̂·∂γ)` in place on `rows` rows of `grad`, `N = batchRows` the rows of
/// the whole batch. Rows are independent. O(rows·n).
public func batchNormInputGradient(
    rows: Int, batchRows: Int, width n: Int, grad: UnsafeMutablePointer<Float>, normalized: UnsafePointer<Float>,
    gamma: UnsafePointer<Float>, invStd: UnsafePointer<Float>, gradGamma: UnsafePointer<Float>,
    gradBeta: UnsafePointer<Float>
) {
    let count = Float(batchRows)
    let inverseCount = 1 / count
    let (n8, countV, inverseV) = (n & ~7, V8(repeating: count), V8(repeating: inverseCount))
    // Column blocks of 16 down the rows, the per-column factors held in registers (the same products,
    // computed once per block instead of once per row).
    var j = 0
    while j + 16 <= n8 {
        let k0 = load8(gamma + j) * load8(invStd + j) * inverseV, k1 = load8(gamma + j + 8) * load8(invStd + j + 8) * inverseV
        let b0 = load8(gradBeta + j), b1 = load8(gradBeta + j + 8)
        let c0 = load8(gradGamma + j), c1 = load8(gradGamma + j + 8)
        var (g, h) = (grad + j, normalized + j)
        for _ in 0..<rows {
            store8(k0 * (countV * load8(g) - b0 - load8(h) * c0), g)
            store8(k1 * (countV * load8(g + 8) - b1 - load8(h + 8) * c1), g + 8)
            g += n
            h += n
        }
        j += 16
    }
    while j < n8 {
        let k0 = load8(gamma + j) * load8(invStd + j) * inverseV
        let (b0, c0) = (load8(gradBeta + j), load8(gradGamma + j))
        var (g, h) = (grad + j, normalized + j)
        for _ in 0..<rows {
            store8(k0 * (countV * load8(g) - b0 - load8(h) * c0), g)
            g += n
            h += n
        }
        j += 8
    }
    for r in 0..<rows {
        let gr = grad + r * n
        let hr = normalized + r * n
        for j in n8..<n {
            gr[j] = gamma[j] * invStd[j] * inverseCount * (count * gr[j] - gradBeta[j] - hr[j] * gradGamma[j])
        }
    }
}

/// Activation functions of the hidden layers.
public enum ActivationKind: UInt8, Sendable {
    /// `relu` max(0, x), `sigmoid` 1 / (1 + e⁻ˣ), `tanh`, and `identity` (no activation). The raw values are
    /// stored in checkpoints.
    case relu, sigmoid, tanh, identity
}

/// Applies the activation in place.
public func activationForward(_ kind: ActivationKind, count: Int, _ x: UnsafeMutablePointer<Float>) {
    switch kind {
    case .identity: return
    case .relu:
        var i = 0
        while i &+ 8 <= count {
            // `max(x, 0)` as `pointwiseMax` computes it (x when x > 0, else +0, NaN → 0), without its
            // unspecialised per-lane loop.
            let v = load8(x + i)
            store8(V8().replacing(with: v, where: v .> 0), x + i)
            i &+= 8
        }
        while i < count {
            x[i] = max(x[i], 0)
            i += 1
        }
    case .sigmoid:
        for i in 0..<count { x[i] = 1 / (1 + Float.exp(-x[i])) }
    case .tanh:
        for i in 0..<count { x[i] = Float.tanh(x[i]) }
    }
}

/// Multiplies `grad` in place by the activation's derivative, expressed through its output `y`:
/// relu `y > 0`, sigmoid `y(1 − y)`, tanh `1 − y²`, identity 1.
public func activationBackward(
    _ kind: ActivationKind, count: Int, output y: UnsafePointer<Float>, grad: UnsafeMutablePointer<Float>
) {
    var i = 0
    switch kind {
    case .identity: return
    case .relu:
        while i + 8 <= count {
            store8(load8(grad + i).replacing(with: 0, where: load8(y + i) .<= 0), grad + i)
            i += 8
        }
        while i < count {
            if y[i] <= 0 { grad[i] = 0 }
            i += 1
        }
    case .sigmoid:
        let one = V8(repeating: 1)
        while i + 8 <= count {
            let v = load8(y + i)
            store8(load8(grad + i) * v * (one - v), grad + i)
            i += 8
        }
        while i < count {
            grad[i] *= y[i] * (1 - y[i])
            i += 1
        }
    case .tanh:
        let one = V8(repeating: 1)
        while i + 8 <= count {
            let v = load8(y + i)
            store8(load8(grad + i) * (one - v * v), grad + i)
            i += 8
        }
        while i < count {
            grad[i] *= 1 - y[i] * y[i]
            i += 1
        }
    }
}

/// `out[i] = x[i]·m[i]` (the dropout product, without first copying `x`). O(count).
public func multiply(
    count: Int, _ x: UnsafePointer<Float>, by m: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>
) {
    var i = 0
    while i &+ 8 <= count {
        store8(load8(x + i) * load8(m + i), out + i)
        i &+= 8
    }
    while i < count {
        out[i] = x[i] * m[i]
        i += 1
    }
}

/// `x[i] *= m[i]`.
public func multiply(count: Int, _ x: UnsafeMutablePointer<Float>, by m: UnsafePointer<Float>) {
    var i = 0
    while i &+ 8 <= count {
        store8(load8(x + i) * load8(m + i), x + i)
        i &+= 8
    }
    while i < count {
        x[i] *= m[i]
        i += 1
    }
}

/// `out[r] += Σ_j a[r, j] · h[j]`.
public func addRowDots(rows: Int, width n: Int, _ a: UnsafePointer<Float>, _ h: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
    var ar = a
    for r in 0..<rows {
        defer { ar += n }
        var acc = V8()
        var j = 0
        while j &+ 8 <= n {
            acc = load8(ar + j) * load8(h + j) + acc
            j &+= 8
        }
        var sum = acc.sum()
        while j < n {
            sum += ar[j] * h[j]
            j += 1
        }
        out[r] += sum
    }
}

/// Backward of `addRowDots`: `gradH[j] = Σ_r g[r]·a[r, j]` and `gradA[r, j] = g[r]·h[j]`.
public func rowDotsBackward(
    rows: Int, width n: Int, _ a: UnsafePointer<Float>, _ h: UnsafePointer<Float>, grad g: UnsafePointer<Float>,
    gradH: UnsafeMutablePointer<Float>, gradA: UnsafeMutablePointer<Float>
) {
    weightedColumnSums(rows: rows, width: n, a, weights: g, into: gradH)
    scaledRows(rows: rows, width: n, h, scales: g, into: gradA)
}

/// `out[j] = Σ_r w[r]·a[r, j]`, rows summed in order (the `∂h` of `rowDotsBackward`). O(rows·n). With
/// `rowStride` (default `n`) the `n` columns are a block of wider rows; with `accumulate` the rows are
/// added on to `out` (continued over later rows, the same bits as one call).
public func weightedColumnSums(
    rows: Int, width n: Int, rowStride: Int? = nil, _ a: UnsafePointer<Float>, weights g: UnsafePointer<Float>,
    into out: UnsafeMutablePointer<Float>, accumulate: Bool = false
) {
    let stride = rowStride ?? n
    // Column blocks of 32 (then 8, then 1) summed down the rows in registers (as `columnSums`).
    var j = 0
    while j + 32 <= n {
        let o = out + j
        var a0 = accumulate ? load8(o) : V8(), a1 = accumulate ? load8(o + 8) : V8()
        var a2 = accumulate ? load8(o + 16) : V8(), a3 = accumulate ? load8(o + 24) : V8()
        var p = a + j
        for r in 0..<rows {
            let w = V8(repeating: g[r])
            a0 = w * load8(p) + a0; a1 = w * load8(p + 8) + a1; a2 = w * load8(p + 16) + a2; a3 = w * load8(p + 24) + a3
            p += stride
        }
        store8(a0, o); store8(a1, o + 8); store8(a2, o + 16); store8(a3, o + 24)
        j += 32
    }
    while j + 8 <= n {
        var a0 = accumulate ? load8(out + j) : V8()
        var p = a + j
        for r in 0..<rows {
            a0 = V8(repeating: g[r]) * load8(p) + a0
            p += stride
        }
        store8(a0, out + j)
        j += 8
    }
    while j < n {
        var total: Float = accumulate ? out[j] : 0
        var p = a + j
        for r in 0..<rows {
            total += g[r] * p.pointee
            p += stride
        }
        out[j] = total
        j += 1
    }
}

/// `out[r, j] = s[r]·h[j]` (the `∂a` of `rowDotsBackward`); rows are independent. O(rows·n).
public func scaledRows(
    rows: Int, width n: Int, _ h: UnsafePointer<Float>, scales g: UnsafePointer<Float>,
    into out: UnsafeMutablePointer<Float>
) {
    var dr = out
    for r in 0..<rows {
        defer { dr += n }
        let gr = V8(repeating: g[r])
        var j = 0
        while j &+ 8 <= n {
            store8(gr * load8(h + j), dr + j)
            j &+= 8
        }
        while j < n {
            dr[j] = g[r] * h[j]
            j += 1
        }
    }
}

/// The four 16-bit lanes of `b`, bits 0–15 first.
@inline(__always) private func sixteenBitLanes(_ b: UInt64) -> SIMD4<Int32> {
    #if _endian(little)
        // One widening move (memory order is lane order).
        return SIMD4<Int32>(truncatingIfNeeded: unsafeBitCast(b, to: SIMD4<UInt16>.self))
    #else
        return SIMD4<Int32>(Int32(b & 0xFFFF), Int32(b >> 16 & 0xFFFF), Int32(b >> 32 & 0xFFFF), Int32(b >> 48))
    #endif
}

/// Inverted-dropout mask: each entry is `1/keep'` with probability `keep'` and 0 otherwise, where
/// `keep'` is `keep` rounded to a multiple of 2⁻¹⁶ (four draws per 64-bit random number).
public func dropoutMask(count: Int, keep: Float, into mask: UnsafeMutablePointer<Float>, random: inout Xoshiro256) {
    let threshold = UInt64(min(65536, max(1, (keep * 65536).rounded())))
    let scale = Float(65536) / Float(threshold)
    var i = 0
    // Four 16-bit lanes of each draw (bits 0–15 first), widened and compared at once (the
    // same mask as the general loop below; signed compares, as lanes and limit are at most 2¹⁶).
    let limit = SIMD4<Int32>(repeating: Int32(threshold))
    let kept = SIMD4<Float>(repeating: scale)
    let zero = SIMD4<Float>()
    // Two draws per iteration (the first's four lanes, then the second's), unchecked counting.
    while i &+ 8 <= count {
        let first = zero.replacing(with: kept, where: sixteenBitLanes(random.next()) .< limit)
        let second = zero.replacing(with: kept, where: sixteenBitLanes(random.next()) .< limit)
        UnsafeMutableRawPointer(mask + i).storeBytes(of: first, as: SIMD4<Float>.self)
        UnsafeMutableRawPointer(mask + i + 4).storeBytes(of: second, as: SIMD4<Float>.self)
        i &+= 8
    }
    while i + 4 <= count {
        let bits = sixteenBitLanes(random.next())
        let values = zero.replacing(with: kept, where: bits .< limit)
        UnsafeMutableRawPointer(mask + i).storeBytes(of: values, as: SIMD4<Float>.self)
        i += 4
    }
    while i < count {
        var bits = random.next()
        for _ in 0..<4 where i < count {
            mask[i] = (bits & 0xFFFF) < threshold ? scale : 0
            bits >>= 16
            i += 1
        }
    }
}

/// `grad ← act′(y) ⊙ (grad ⊙ mask)` on a block of `width` columns of `rows` rows (`rowStride` apart), for
/// ReLU and the identity: `multiply` then `activationBackward` per value (the same operations, so the
/// same bits), fused so that a column block of a batch-norm backward can apply a layer's dropout and
/// activation derivative itself. `mask` nil skips the product. Other activations are refused: their
/// derivative is arithmetic whose scalar tail (`activationBackward`'s last `count mod 8` values) rounds
/// differently from its SIMD body, so a different blocking would move bits. O(rows·width).
public func maskedActivationBackward(
    _ kind: ActivationKind, rows: Int, width n: Int, rowStride: Int, mask: UnsafePointer<Float>?,
    output y: UnsafePointer<Float>, grad g: UnsafeMutablePointer<Float>
) {
    precondition(kind == .relu || kind == .identity, "maskedActivationBackward: relu or identity only")
    // One loop per case, so that the inner loop carries no test.
    switch (mask, kind) {
    case (let mask?, .relu):
        for r in 0..<rows { maskedRelu(n, g + r * rowStride, mask + r * rowStride, y + r * rowStride) }
    case (let mask?, _):
        for r in 0..<rows { multiply(count: n, g + r * rowStride, by: mask + r * rowStride) }
    case (nil, .relu):
        for r in 0..<rows { activationBackward(.relu, count: n, output: y + r * rowStride, grad: g + r * rowStride) }
    default:
        return
    }
}

/// `g ← (g ⊙ m)` then zero where `y ≤ 0`, on `n` values.
@inline(__always)
private func maskedRelu(_ n: Int, _ g: UnsafeMutablePointer<Float>, _ m: UnsafePointer<Float>, _ y: UnsafePointer<Float>) {
    var j = 0
    while j &+ 8 <= n {
        store8((load8(g + j) * load8(m + j)).replacing(with: 0, where: load8(y + j) .<= 0), g + j)
        j &+= 8
    }
    while j < n {
        g[j] *= m[j]
        if y[j] <= 0 { g[j] = 0 }
        j += 1
    }
}
