/// A residual unit of DeepCross (Shan et al., *Deep Crossing*, KDD 2016, eq. 2, with the ReLU the paper
/// applies after the sum): `y = act(x + act(x·W₁ + b₁)·W₂ + b₂)`, where `x` and `y` are `rows × d`,
/// `W₁` is `d × h`, `W₂` is `h × d` (row-major), `b₁` has `h` values and `b₂` has `d`.
///
/// Writes the inner activations `act(x·W₁ + b₁)` to `inner` (`rows × h`, needed by the backward pass)
/// and `y` to `output` (`rows × d`; must not alias `input`).
public func residualUnitForward(
    rows: Int, width d: Int, hidden h: Int, input x: UnsafePointer<Float>,
    w1: UnsafePointer<Float>, b1: UnsafePointer<Float>, w2: UnsafePointer<Float>, b2: UnsafePointer<Float>,
    activation: ActivationKind, inner: UnsafeMutablePointer<Float>, output y: UnsafeMutablePointer<Float>
) {
    for r in 0..<rows { (inner + r * h).update(from: b1, count: h) }
    gemm(m: rows, n: h, p: d, a: x, aRowStride: d, aColStride: 1, b: w1, c: inner, accumulate: true)
    activationForward(activation, count: rows * h, inner)
    y.update(from: x, count: rows * d)
    addRowVector(rows: rows, width: d, y, b2)
    gemm(m: rows, n: d, p: h, a: inner, aRowStride: h, aColStride: 1, b: w2, c: y, accumulate: true)
    activationForward(activation, count: rows * d, y)
}

/// Backward of `residualUnitForward`, given its `input`, `inner` and `output`.
///
/// `grad` holds `∂L/∂y` on entry and `δ = ∂L/∂(pre-activation sum)` on return. Writes the weight and bias
/// gradients (overwriting them) and, when `gradInput` is not nil, `∂L/∂x = δ + (δ·W₂ᵀ ⊙ act′)·W₁ᵀ`
/// (`rows × d`; must not alias `grad`). `gradInner` (`rows × h`) and `transposed` (`d·h` values) are
/// scratch.
public func residualUnitBackward(
    rows: Int, width d: Int, hidden h: Int, input x: UnsafePointer<Float>,
    w1: UnsafePointer<Float>, w2: UnsafePointer<Float>, activation: ActivationKind,
    inner: UnsafePointer<Float>, output y: UnsafePointer<Float>, grad: UnsafeMutablePointer<Float>,
    gradInner: UnsafeMutablePointer<Float>, gradInput: UnsafeMutablePointer<Float>?,
    gradW1: UnsafeMutablePointer<Float>, gradB1: UnsafeMutablePointer<Float>,
    gradW2: UnsafeMutablePointer<Float>, gradB2: UnsafeMutablePointer<Float>,
    transposed: UnsafeMutablePointer<Float>
) {
    activationBackward(activation, count: rows * d, output: y, grad: grad)
    columnSums(rows: rows, width: d, grad, into: gradB2)
    gemm(m: h, n: d, p: rows, a: inner, aRowStride: 1, aColStride: h, b: grad, c: gradW2, accumulate: false)
    transpose(rows: h, columns: d, w2, into: transposed)
    gemm(m: rows, n: h, p: d, a: grad, aRowStride: d, aColStride: 1, b: transposed, c: gradInner, accumulate: false)
    activationBackward(activation, count: rows * h, output: inner, grad: gradInner)
    columnSums(rows: rows, width: h, gradInner, into: gradB1)
    gemm(m: d, n: h, p: rows, a: x, aRowStride: 1, aColStride: d, b: gradInner, c: gradW1, accumulate: false)
    if let gradInput {
        gradInput.update(from: grad, count: rows * d)
        transpose(rows: d, columns: h, w1, into: transposed)
        gemm(m: rows, n: d, p: h, a: gradInner, aRowStride: h, aColStride: 1, b: transposed, c: gradInput, accumulate: true)
    }
}
