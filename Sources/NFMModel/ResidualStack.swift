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
        /// One unit's `W₁` and `W₂`, packed for the forward products (`PackedOperand`).
        let packedForward: FloatBuffer

        init(stage: ResidualStack, capacity: Int) {
            let d = stage.width
            inner = stage.units.map { FloatBuffer(count: capacity * $0.hidden) }
            output = stage.units.map { _ in FloatBuffer(count: capacity * d) }
            dropouts = stage.dropout.map { DropoutScratch(ratio: $0, count: capacity * d) }
            outputs = output.map(\.pointer)
            gradients = (FloatBuffer(count: capacity * d), FloatBuffer(count: capacity * d))
            let widest = stage.units.map(\.hidden).max() ?? 0
            gradInner = FloatBuffer(count: capacity * widest)
            // `W₂ᵀ` (d × h) or `W₁ᵀ` (h × d) of one unit at a time, packed (`PackedOperand`).
            transposed = FloatBuffer(count: stage.units.map {
                max(PackedOperand.floatCount(rows: d, columns: $0.hidden), PackedOperand.floatCount(rows: $0.hidden, columns: d))
            }.max() ?? 0)
            packedForward = FloatBuffer(count: stage.units.map {
                PackedOperand.floatCount(rows: d, columns: $0.hidden) + PackedOperand.floatCount(rows: $0.hidden, columns: d)
            }.max() ?? 0)
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
            // `residualUnitForward` on each row block, with `W₁` and `W₂` packed once.
            let packed1 = PackedOperand(rows: d, columns: h, storage: s.packedForward.pointer)
            let packed2 = PackedOperand(
                rows: h, columns: d, storage: s.packedForward.pointer + PackedOperand.floatCount(rows: d, columns: h))
            s.pool.forEachBlock(packed1.columnBlocks + packed2.columnBlocks, grain: 1, cost: 2 * d * h) { tasks in
                for t in tasks {
                    if t < packed1.columnBlocks {
                        packed1.pack(columnBlock: t, of: w1, rowStride: h, transposed: false)
                    } else {
                        packed2.pack(columnBlock: t - packed1.columnBlocks, of: w2, rowStride: d, transposed: false)
                    }
                }
            }
            s.pool.forEachRowBlock(rows, perRow: 4 * d * h) { block in
                let (x, z, y, count) = (input + block.lowerBound * d, inner + block.lowerBound * h, out + block.lowerBound * d, block.count)
                broadcastRow(rows: count, width: h, b1, into: z)
                gemm(m: count, a: x, aRowStride: d, aColStride: 1, packed: packed1, c: z, cRowStride: h, accumulate: true)
                activationForward(activation, count: count * h, z)
                y.update(from: x, count: count * d)
                addRowVector(rows: count, width: d, y, b2)
                gemm(m: count, a: z, aRowStride: h, aColStride: 1, packed: packed2, c: y, cRowStride: d, accumulate: true)
                activationForward(activation, count: count * d, y)
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
        let packed2 = PackedOperand(rows: d, columns: h, storage: transposed)
        pool.pack(packed2, of: unit.weight2.pointer, rowStride: d, transposed: true)
        pool.forEachRowBlock(rows, perRow: 2 * d * h) { block in
            let at = block.lowerBound
            NFMKernels.gemm(
                m: block.count, a: grad + at * d, aRowStride: d, aColStride: 1, packed: packed2,
                c: gradInner + at * h, cRowStride: h, accumulate: false)
            activationBackward(activation, count: block.count * h, output: inner + at * h, grad: gradInner + at * h)
        }
        pool.columnSums(rows: rows, width: h, gradInner, into: gradB1)
        pool.gemm(m: d, n: h, p: rows, a: x, aRowStride: 1, aColStride: d, b: gradInner, c: gradW1, accumulate: false)
        let packed1 = PackedOperand(rows: h, columns: d, storage: transposed)
        pool.pack(packed1, of: unit.weight1.pointer, rowStride: h, transposed: true)
        pool.forEachRowBlock(rows, perRow: 2 * d * h) { block in
            let at = block.lowerBound
            (gradInput + at * d).update(from: grad + at * d, count: block.count * d)
            NFMKernels.gemm(
                m: block.count, a: gradInner + at * h, aRowStride: h, aColStride: 1, packed: packed1,
                c: gradInput + at * d, cRowStride: d, accumulate: true)
        }
    }
}
