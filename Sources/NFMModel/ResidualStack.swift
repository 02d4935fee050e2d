import NFMKernels

/// A DeepCross residual unit `y = act(x + act(x·W₁ + b₁)·W₂ + b₂)` of width `width` and inner width `hidden`.
public final class ResidualUnit: @unchecked Sendable {
    /// Width `d` of the unit's input and output.
    public let width: Int
    /// Inner width `h`.
    public let hidden: Int
    /// `W₁`, row-major `width × hidden`.
    public let weight1: FloatBuffer
    /// `b₁`, `hidden` values.
    public let bias1: FloatBuffer
    /// `W₂`, row-major `hidden × width`.
    public let weight2: FloatBuffer
    /// `b₂`, `width` values.
    public let bias2: FloatBuffer

    init(width: Int, hidden: Int) {
        self.width = width
        self.hidden = hidden
        weight1 = FloatBuffer(count: width * hidden)
        bias1 = FloatBuffer(count: hidden)
        weight2 = FloatBuffer(count: hidden * width)
        bias2 = FloatBuffer(count: width)
    }

    var parameters: [FloatBuffer] { [weight1, bias1, weight2, bias2] }
}

/// DeepCross's residual units (Shan et al., KDD 2016) on the concatenated embeddings, each followed by
/// dropout; the width stays `d = F·k` throughout.
final class ResidualStack: HiddenStage {
    let units: [ResidualUnit]
    let width: Int
    let activation: ActivationKind
    /// Dropout ratio after each unit.
    let dropout: [Float]

    init(width: Int, hidden: [Int], activation: ActivationKind, dropout: [Float]) {
        units = hidden.map { ResidualUnit(width: width, hidden: $0) }
        self.width = width
        self.activation = activation
        self.dropout = dropout
    }

    var outputWidth: Int { width }
    var namedTensors: [(name: String, buffer: FloatBuffer)] {
        units.enumerated().flatMap { i, unit in
            [
                ("residual\(i).weight1", unit.weight1), ("residual\(i).bias1", unit.bias1),
                ("residual\(i).weight2", unit.weight2), ("residual\(i).bias2", unit.bias2),
            ]
        }
    }
    var denseTrainable: [FloatBuffer] { units.flatMap(\.parameters) }
    var initializationRank: InitializationRank { .residualUnits }

    /// `W₁, b₁, W₂, b₂` of each unit Glorot-normal: std √(2/(width + hidden)).
    func initialize(random: inout Xoshiro256) {
        for unit in units {
            let std = (2.0 / Double(unit.width + unit.hidden)).squareRoot()
            for buffer in unit.parameters {
                for i in 0..<buffer.count { buffer[i] = Float(std * random.nextNormal()) }
            }
        }
    }

    /// Per unit: inner activations, outputs and dropout; shared backward buffers.
    final class Scratch: StageScratch {
        let inner: [FloatBuffer]
        let output: [FloatBuffer]
        let dropouts: [DropoutScratch]
        /// The activation each unit passed on (set by `forward`).
        var outputs: [UnsafeMutablePointer<Float>]
        /// Ping-pong `∂L/∂input` buffers, `∂L/∂inner` and `Wᵀ`.
        let gradients: (FloatBuffer, FloatBuffer)
        let gradInner: FloatBuffer
        let transposed: FloatBuffer

        init(stage: ResidualStack, capacity: Int) {
            let d = stage.width
            inner = stage.units.map { FloatBuffer(count: capacity * $0.hidden) }
            output = stage.units.map { _ in FloatBuffer(count: capacity * d) }
            dropouts = stage.dropout.map { DropoutScratch(ratio: $0, count: capacity * d) }
            outputs = output.map(\.pointer)
            gradients = (FloatBuffer(count: capacity * d), FloatBuffer(count: capacity * d))
            let widest = stage.units.map(\.hidden).max() ?? 0
            gradInner = FloatBuffer(count: capacity * widest)
            transposed = FloatBuffer(count: d * widest)
            super.init(stage: stage)
        }
    }

    func makeScratch(capacity: Int) -> StageScratch { Scratch(stage: self, capacity: capacity) }

    func maskRequests(rows: Int, scratch: StageScratch) -> [MaskRequest] {
        scratch.of(Scratch.self).dropouts.compactMap { $0.request(count: rows * width) }
    }

    func forward(
        rows: Int, input: UnsafeMutablePointer<Float>, scratch: StageScratch, training: Bool,
        random: inout Xoshiro256, pending: RowWork?
    ) -> UnsafeMutablePointer<Float> {
        let s = scratch.of(Scratch.self)
        if let pending { s.pool.forEachRowBlock(rows, perRow: 6 * width, pending) }
        var current = input
        for (u, unit) in units.enumerated() {
            let (out, inner, input, d, h, activation) = (s.output[u].pointer, s.inner[u].pointer, current, width, unit.hidden, activation)
            let (w1, b1, w2, b2) = (unit.weight1.pointer, unit.bias1.pointer, unit.weight2.pointer, unit.bias2.pointer)
            s.pool.forEachRowBlock(rows, perRow: 4 * d * h) { block in
                let at = block.lowerBound
                residualUnitForward(
                    rows: block.count, width: d, hidden: h, input: input + at * d, w1: w1, b1: b1, w2: w2, b2: b2,
                    activation: activation, inner: inner + at * h, output: out + at * d)
            }
            current = s.dropouts[u].forward(count: rows * width, out, training: training, random: &random, pool: s.pool)
            s.outputs[u] = current
        }
        return current
    }

    func backward(
        rows: Int, input: UnsafeMutablePointer<Float>, gradient: UnsafeMutablePointer<Float>, scratch: StageScratch
    ) -> UnsafeMutablePointer<Float> {
        let s = scratch.of(Scratch.self)
        var current = gradient
        var (other, spare) = (s.gradients.0.pointer, s.gradients.1.pointer)
        for u in stride(from: units.count - 1, through: 0, by: -1) {
            s.dropouts[u].backward(count: rows * width, current, pool: s.pool)
            backward(unit: u, rows: rows, input: u > 0 ? s.outputs[u - 1] : input, grad: current, gradInput: other, scratch: s)
            (current, other, spare) = (other, spare, other)
        }
        return current
    }

    /// One unit's backward (`residualUnitBackward`'s arithmetic), cut into pool tasks: element-wise and
    /// row-wise steps by blocks, weight gradients by blocks of their rows, bias gradients summed over the
    /// rows in order on the calling thread.
    private func backward(
        unit u: Int, rows: Int, input x: UnsafeMutablePointer<Float>, grad: UnsafeMutablePointer<Float>,
        gradInput: UnsafeMutablePointer<Float>, scratch s: Scratch
    ) {
        let unit = units[u]
        let (d, h, pool, activation) = (width, unit.hidden, s.pool, activation)
        let (inner, y, gradInner, transposed) = (s.inner[u].pointer, s.output[u].pointer, s.gradInner.pointer, s.transposed.pointer)
        let g = s.denseGradients[(4 * u)..<(4 * u + 4)]
        let (gradW1, gradB1, gradW2, gradB2) = (g[4 * u].pointer, g[4 * u + 1].pointer, g[4 * u + 2].pointer, g[4 * u + 3].pointer)
        pool.forEachElementBlock(rows * d) { block in
            activationBackward(activation, count: block.count, output: y + block.lowerBound, grad: grad + block.lowerBound)
        }
        pool.columnSums(rows: rows, width: d, grad, into: gradB2)
        pool.gemm(m: h, n: d, p: rows, a: inner, aRowStride: 1, aColStride: h, b: grad, c: gradW2, accumulate: false)
        pool.transpose(rows: h, columns: d, unit.weight2.pointer, into: transposed)
        pool.forEachRowBlock(rows, perRow: 2 * d * h) { block in
            let at = block.lowerBound
            NFMKernels.gemm(
                m: block.count, n: h, p: d, a: grad + at * d, aRowStride: d, aColStride: 1, b: transposed,
                c: gradInner + at * h, accumulate: false)
            activationBackward(activation, count: block.count * h, output: inner + at * h, grad: gradInner + at * h)
        }
        pool.columnSums(rows: rows, width: h, gradInner, into: gradB1)
        pool.gemm(m: d, n: h, p: rows, a: x, aRowStride: 1, aColStride: d, b: gradInner, c: gradW1, accumulate: false)
        pool.transpose(rows: d, columns: h, unit.weight1.pointer, into: transposed)
        pool.forEachRowBlock(rows, perRow: 2 * d * h) { block in
            let at = block.lowerBound
            (gradInput + at * d).update(from: grad + at * d, count: block.count * d)
            NFMKernels.gemm(
                m: block.count, n: d, p: h, a: gradInner + at * h, aRowStride: h, aColStride: 1, b: transposed,
                c: gradInput + at * d, accumulate: true)
        }
    }
}
