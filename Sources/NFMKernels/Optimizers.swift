/// Parameter updates, element-wise over `count` values. `l2` adds `l2·w` to each gradient (the
/// gradient of `l2/2 · Σw²`).

/// Adagrad (Duchi et al. 2011), TensorFlow's form: `a += g²; w −= lr·g/√a`.
public func adagradStep(
    count: Int, parameters w: UnsafeMutablePointer<Float>, gradient g: UnsafePointer<Float>,
    accumulator a: UnsafeMutablePointer<Float>, learningRate: Float, l2: Float
) {
    var i = 0
    #if NFM_AVX512
    i = adagradLanes(
        V16.self, from: i, count: count, parameters: w, gradient: g, accumulator: a, learningRate: learningRate, l2: l2)
    #endif
    i = adagradLanes(
        V8.self, from: i, count: count, parameters: w, gradient: g, accumulator: a, learningRate: learningRate, l2: l2)
    while i < count {
        let gi = g[i] + l2 * w[i]
        a[i] += gi * gi
        w[i] -= learningRate * gi / abs(a[i]).squareRoot()
        i += 1
    }
}

/// `adagradStep`'s arithmetic on the values from `start`, `Lanes.width` at a time while a whole vector
/// is left; returns the first value left.
@inline(__always)
private func adagradLanes<Lanes: FloatLanes>(
    _: Lanes.Type, from start: Int, count: Int, parameters w: UnsafeMutablePointer<Float>,
    gradient g: UnsafePointer<Float>, accumulator a: UnsafeMutablePointer<Float>, learningRate: Float, l2: Float
) -> Int {
    let (lr, decay) = (Lanes(repeating: learningRate), Lanes(repeating: l2))
    var i = start
    while i &+ Lanes.width <= count {
        let wi = Lanes.load(w + i)
        let gi = Lanes.load(g + i) + decay * wi
        let ai = gi * gi + Lanes.load(a + i)
        ai.store(a + i)
        (wi - lr * gi / ai.squareRoots).store(w + i)
        i &+= Lanes.width
    }
    return i
}

/// `adagradStep` on the rows `rows[s]` (width `width`) of a sparse table for the batch slots `slots`, with
/// gradient row `s` of `gradients`: the same arithmetic per value, without a call per row (first-order
/// weights have rows of one value). O(slots·width).
public func adagradRowsStep(
    width: Int, rows: UnsafePointer<Int32>, slots: Range<Int>, parameters w: UnsafeMutablePointer<Float>,
    gradients g: UnsafePointer<Float>, accumulator a: UnsafeMutablePointer<Float>, learningRate: Float, l2: Float
) {
    if width == 1 {
        for s in slots {
            let r = Int(rows[s])
            let gi = g[s] + l2 * w[r]
            a[r] += gi * gi
            w[r] -= learningRate * gi / abs(a[r]).squareRoot()
        }
        return
    }
    for s in slots {
        let offset = Int(rows[s]) * width
        adagradStep(
            count: width, parameters: w + offset, gradient: g + s * width, accumulator: a + offset,
            learningRate: learningRate, l2: l2)
    }
}

/// Adam (Kingma & Ba 2015) with TensorFlow's bias correction folded into `stepSize`
/// (`lr·√(1−β₂ᵗ)/(1−β₁ᵗ)`): `m = β₁m + (1−β₁)g; v = β₂v + (1−β₂)g²; w −= stepSize·m/(√v + ε)`.
public func adamStep(
    count: Int, parameters w: UnsafeMutablePointer<Float>, gradient g: UnsafePointer<Float>,
    firstMoment m: UnsafeMutablePointer<Float>, secondMoment v: UnsafeMutablePointer<Float>,
    stepSize: Float, beta1: Float, beta2: Float, epsilon: Float, l2: Float
) {
    for i in 0..<count {
        let gi = g[i] + l2 * w[i]
        m[i] = beta1 * m[i] + (1 - beta1) * gi
        v[i] = beta2 * v[i] + (1 - beta2) * gi * gi
        w[i] -= stepSize * m[i] / (v[i].squareRoot() + epsilon)
    }
}

/// Plain SGD: `w −= lr·g`.
public func sgdStep(
    count: Int, parameters w: UnsafeMutablePointer<Float>, gradient g: UnsafePointer<Float>, learningRate: Float,
    l2: Float
) {
    for i in 0..<count { w[i] -= learningRate * (g[i] + l2 * w[i]) }
}

/// Momentum, TensorFlow's form: `u = μu + g; w −= lr·u`.
public func momentumStep(
    count: Int, parameters w: UnsafeMutablePointer<Float>, gradient g: UnsafePointer<Float>,
    velocity u: UnsafeMutablePointer<Float>, learningRate: Float, momentum: Float, l2: Float
) {
    for i in 0..<count {
        u[i] = momentum * u[i] + g[i] + l2 * w[i]
        w[i] -= learningRate * u[i]
    }
}
