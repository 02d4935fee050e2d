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
    for r in 0..<rows {
        let xr = x + r * n
        var j = 0
        while j + 8 <= n {
            store8(load8(v + j), xr + j)
            j += 8
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
    if !accumulate { out.update(repeating: 0, count: n) }
    for r in 0..<rows {
        let xr = x + r * stride
        var j = 0
        while j + 8 <= n {
            store8(load8(out + j) + load8(xr + j), out + j)
            j += 8
        }
        while j < n {
            out[j] += xr[j]
            j += 1
        }
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
    if !accumulate { variance.update(repeating: 0, count: n) }
    for r in 0..<rows {
        let xr = x + r * stride
        var j = 0
        while j + 8 <= n {
            let d = load8(xr + j) - load8(mean + j)
            store8(d * d + load8(variance + j), variance + j)
            j += 8
        }
        while j < n {
            let d = xr[j] - mean[j]
            variance[j] += d * d
            j += 1
        }
    }
}

/// Normalises `rows` rows of `x` in place with given statistics: `x̂ = (x − μ)·invStd` (to
/// `normalized`), `x ← γx̂ + β`. Rows are independent. O(rows·n).
public func batchNormApply(
    rows: Int, width n: Int, _ x: UnsafeMutablePointer<Float>, gamma: UnsafePointer<Float>,
    beta: UnsafePointer<Float>, mean: UnsafePointer<Float>, invStd: UnsafePointer<Float>,
    normalized: UnsafeMutablePointer<Float>
) {
    for r in 0..<rows {
        let xr = x + r * n
        let hr = normalized + r * n
        var j = 0
        while j + 8 <= n {
            let h = (load8(xr + j) - load8(mean + j)) * load8(invStd + j)
            store8(h, hr + j)
            store8(h * load8(gamma + j) + load8(beta + j), xr + j)
            j += 8
        }
        while j < n {
            let h = (xr[j] - mean[j]) * invStd[j]
            hr[j] = h
            xr[j] = h * gamma[j] + beta[j]
            j += 1
        }
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
    if !accumulate {
        gradGamma.update(repeating: 0, count: n)
        gradBeta.update(repeating: 0, count: n)
    }
    for r in 0..<rows {
        let gr = grad + r * stride
        let hr = normalized + r * stride
        var j = 0
        while j + 8 <= n {
            let g = load8(gr + j)
            store8(g + load8(gradBeta + j), gradBeta + j)
            store8(g * load8(hr + j) + load8(gradGamma + j), gradGamma + j)
            j += 8
        }
        while j < n {
            gradBeta[j] += gr[j]
            gradGamma[j] += gr[j] * hr[j]
            j += 1
        }
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
    for r in 0..<rows {
        let gr = grad + r * n
        let hr = normalized + r * n
        var j = 0
        while j + 8 <= n {
            let coefficient = load8(gamma + j) * load8(invStd + j) * V8(repeating: inverseCount)
            let inner = V8(repeating: count) * load8(gr + j) - load8(gradBeta + j) - load8(hr + j) * load8(gradGamma + j)
            store8(coefficient * inner, gr + j)
            j += 8
        }
        while j < n {
            gr[j] = gamma[j] * invStd[j] * inverseCount * (count * gr[j] - gradBeta[j] - hr[j] * gradGamma[j])
            j += 1
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
        while i + 8 <= count {
            // `max(x, 0)` as `pointwiseMax` computes it (x when x > 0, else +0, NaN → 0), without its
            // unspecialised per-lane loop.
            let v = load8(x + i)
            store8(V8().replacing(with: v, where: v .> 0), x + i)
            i += 8
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
    while i + 8 <= count {
        store8(load8(x + i) * load8(m + i), out + i)
        i += 8
    }
    while i < count {
        out[i] = x[i] * m[i]
        i += 1
    }
}

/// `x[i] *= m[i]`.
public func multiply(count: Int, _ x: UnsafeMutablePointer<Float>, by m: UnsafePointer<Float>) {
    var i = 0
    while i + 8 <= count {
        store8(load8(x + i) * load8(m + i), x + i)
        i += 8
    }
    while i < count {
        x[i] *= m[i]
        i += 1
    }
}

/// `out[r] += Σ_j a[r, j] · h[j]`.
public func addRowDots(rows: Int, width n: Int, _ a: UnsafePointer<Float>, _ h: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
    for r in 0..<rows {
        let ar = a + r * n
        var acc = V8()
        var j = 0
        while j + 8 <= n {
            acc = load8(ar + j) * load8(h + j) + acc
            j += 8
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
    if !accumulate { out.update(repeating: 0, count: n) }
    for r in 0..<rows {
        let ar = a + r * stride
        let gr = V8(repeating: g[r])
        var j = 0
        while j + 8 <= n {
            store8(gr * load8(ar + j) + load8(out + j), out + j)
            j += 8
        }
        while j < n {
            out[j] += g[r] * ar[j]
            j += 1
        }
    }
}

/// `out[r, j] = s[r]·h[j]` (the `∂a` of `rowDotsBackward`); rows are independent. O(rows·n).
public func scaledRows(
    rows: Int, width n: Int, _ h: UnsafePointer<Float>, scales g: UnsafePointer<Float>,
    into out: UnsafeMutablePointer<Float>
) {
    for r in 0..<rows {
        let dr = out + r * n
        let gr = V8(repeating: g[r])
        var j = 0
        while j + 8 <= n {
            store8(gr * load8(h + j), dr + j)
            j += 8
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
    while j + 8 <= n {
        store8((load8(g + j) * load8(m + j)).replacing(with: 0, where: load8(y + j) .<= 0), g + j)
        j += 8
    }
    while j < n {
        g[j] *= m[j]
        if y[j] <= 0 { g[j] = 0 }
        j += 1
    }
}
