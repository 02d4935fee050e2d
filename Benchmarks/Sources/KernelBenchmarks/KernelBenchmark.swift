import Dispatch
import NFMKernels
import NFMModel

/// Micro-benchmarks of the hot kernels at NFM's Frappe shape (batch 128, 10 fields, k = 64, one hidden
/// layer of 64), reported in GFLOP/s, for BENCHMARKS.md.
enum KernelBenchmark {
    /// One timed kernel: its name, floating-point operations per call and best seconds per call.
    struct Line: Sendable {
        var name: String
        var flops: Double
        var seconds: Double
        var gflops: Double { flops / seconds / 1e9 }
    }

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    /// Best of `repeats` timings of `iterations` calls.
    static func time(_ iterations: Int, repeats: Int = 5, _ body: () -> Void) -> Double {
        var best = Double.infinity
        for _ in 0..<repeats {
            let start = now()
            for _ in 0..<iterations { body() }
            best = min(best, (now() - start) / Double(iterations))
        }
        return best
    }

    /// Every line: the 64-wide kernels, NFM's training step and inference, then the baselines.
    static func run(rows: Int = 128, fields: Int = 10, k: Int = 64, hidden: Int = 64, features: Int = 5382) -> [Line] {
        var random = Xoshiro256(seed: 1)
        func buffer(_ n: Int) -> FloatBuffer {
            let b = FloatBuffer(count: n)
            for i in 0..<n { b[i] = Float(random.nextNormal()) }
            return b
        }
        let a = buffer(rows * k), w = buffer(k * hidden), c = buffer(rows * hidden), d = buffer(rows * hidden)
        var lines: [Line] = []
        let gemmFlops = 2.0 * Double(rows * k * hidden)
        lines.append(Line(name: "gemm A·W (\(rows)×\(k)·\(k)×\(hidden))", flops: gemmFlops, seconds: time(2000) {
            gemm(m: rows, n: hidden, p: k, a: a.pointer, aRowStride: k, aColStride: 1, b: w.pointer, c: c.pointer, accumulate: true)
        }))
        lines.append(Line(name: "gemm Aᵀ·dZ (\(k)×\(rows)·\(rows)×\(hidden))", flops: gemmFlops, seconds: time(2000) {
            gemm(m: k, n: hidden, p: rows, a: a.pointer, aRowStride: 1, aColStride: k, b: d.pointer, c: w.pointer, accumulate: true)
        }))
        let embeddings = FloatBuffer(count: features * k)
        for i in 0..<embeddings.count { embeddings[i] = Float(0.01 * random.nextNormal()) }
        var indices = [UInt32](repeating: 0, count: rows * fields)
        for r in 0..<rows {
            for f in 0..<fields { indices[r * fields + f] = UInt32(random.next(below: features)) }
        }
        let sum = FloatBuffer(count: rows * k), bi = FloatBuffer(count: rows * k), grad = FloatBuffer(count: rows * fields * k)
        let slots = (0..<Int32(rows * fields)).map { $0 }
        let biFlops = 3.0 * Double(rows * fields * k)
        indices.withUnsafeBufferPointer { idx in
            let x = SparseRows(rowCount: rows, fieldCount: fields, indices: idx.baseAddress!)
            lines.append(Line(name: "Bi-Interaction forward (\(rows) rows × \(fields) fields, k=\(k))", flops: biFlops, seconds: time(2000) {
                biInteractionForward(x, factors: k, embeddings: embeddings.pointer, sum: sum.pointer, interaction: bi.pointer)
            }))
            slots.withUnsafeBufferPointer { s in
                lines.append(Line(name: "Bi-Interaction backward (same)", flops: biFlops, seconds: time(2000) {
                    biInteractionBackward(
                        x, factors: k, embeddings: embeddings.pointer, sum: sum.pointer, gradInteraction: bi.pointer,
                        entrySlots: s.baseAddress!, gradEmbeddings: grad.pointer)
                }))
            }
        }
        lines += nfmStep(rows: rows, k: k, hidden: hidden, features: features, indices: indices)
        lines += baselines(rows: rows, k: k, random: &random)
        return lines
    }

    /// A whole training step of the default NFM on the given rows (flops: forward + backward GEMMs and
    /// Bi-Interaction only, so the figure is a lower bound of the work done), and inference.
    static func nfmStep(rows: Int, k: Int, hidden: Int, features: Int, indices: [UInt32]) -> [Line] {
        let fields = indices.count / rows
        let gemmFlops = 2.0 * Double(rows * k * hidden)
        let biFlops = 3.0 * Double(rows * fields * k)
        var lines: [Line] = []
        let config = ModelConfig(kind: .nfm, featureCount: features, factors: k, layers: [hidden])
        let model = Model(config: config)
        model.initialize(seed: 1)
        let ws = Workspace(model: model, capacity: rows)
        let optimizer = Optimizer(kind: .adagrad, learningRate: 0.05)
        let targets = FloatBuffer(count: rows, repeating: 1)
        var dropout = Xoshiro256(seed: 2)
        indices.withUnsafeBufferPointer { idx in
            let x = SparseRows(rowCount: rows, fieldCount: fields, indices: idx.baseAddress!)
            lines.append(Line(name: "NFM train step (batch \(rows), all layers + Adagrad)", flops: 3 * gemmFlops + 2 * biFlops, seconds: time(500) {
                model.trainStep(x, targets: targets.pointer, workspace: ws, optimizer: optimizer, random: &dropout)
            }))
            model.prepareInference()
            lines.append(Line(name: "NFM inference (batch \(rows))", flops: gemmFlops + biFlops, seconds: time(2000) {
                model.forward(x, workspace: ws, training: false, random: &dropout)
            }))
        }
        return lines
    }

    /// The baselines' shapes on Frappe (10 fields, k = 64 ⇒ 640 inputs): Wide&Deep's first layer as a GEMM
    /// in its three forms, the transpose of its weights, and a training step of each baseline (flops:
    /// forward + two backward products of the dense layers, or the pooling kernels for HOFM).
    static func baselines(rows: Int, k: Int, random: inout Xoshiro256) -> [Line] {
        var lines: [Line] = []
        let frappe = [957, 4_082, 7, 7, 2, 3, 2, 9, 80, 233]
        let features = frappe.reduce(0, +)
        let d = frappe.count * k
        func buffer(_ n: Int) -> FloatBuffer {
            let b = FloatBuffer(count: n)
            for i in 0..<n { b[i] = Float(random.nextNormal()) }
            return b
        }
        let a = buffer(rows * d), w = buffer(d * 1_024), c = buffer(rows * 1_024), t = buffer(d * 1_024)
        let flops = 2.0 * Double(rows * d * 1_024)
        lines.append(Line(name: "gemm A·W (\(rows)×\(d)·\(d)×1024)", flops: flops, seconds: time(50) {
            gemm(m: rows, n: 1_024, p: d, a: a.pointer, aRowStride: d, aColStride: 1, b: w.pointer, c: c.pointer, accumulate: true)
        }))
        lines.append(Line(name: "gemm Aᵀ·dZ (\(d)×\(rows)·\(rows)×1024)", flops: flops, seconds: time(50) {
            gemm(m: d, n: 1_024, p: rows, a: a.pointer, aRowStride: 1, aColStride: d, b: c.pointer, c: w.pointer, accumulate: false)
        }))
        lines.append(Line(name: "gemm dZ·Wᵀ (\(rows)×1024·1024×\(d))", flops: flops, seconds: time(50) {
            gemm(m: rows, n: d, p: 1_024, a: c.pointer, aRowStride: 1_024, aColStride: 1, b: t.pointer, c: a.pointer, accumulate: false)
        }))
        lines.append(Line(name: "transpose \(d)×1024", flops: 0, seconds: time(50) {
            transpose(rows: d, columns: 1_024, w.pointer, into: t.pointer)
        }))
        var indices = [UInt32](repeating: 0, count: rows * frappe.count)
        for r in 0..<rows {
            var offset = 0
            for (f, size) in frappe.enumerated() {
                indices[r * frappe.count + f] = UInt32(offset + random.next(below: size))
                offset += size
            }
        }
        let targets = FloatBuffer(count: rows, repeating: 1)
        var dropout = Xoshiro256(seed: 2)
        for kind in [ModelKind.wideDeep, .deepCross, .hofm] {
            let config = ModelConfig(
                kind: kind, featureCount: features, factors: k, biDropout: 0.5, hiddenDropout: [0.5], batchNorm: false,
                fieldSizes: frappe)
            let model = Model(config: config)
            model.initialize(seed: 1)
            let ws = Workspace(model: model, capacity: rows)
            let optimizer = Optimizer(kind: .adagrad, learningRate: 0.05)
            var macs = 0
            for layer in model.layers { macs += layer.inputWidth * layer.width }
            for unit in model.residuals { macs += 2 * unit.width * unit.hidden }
            let stepFlops = kind == .hofm ? 7.0 * Double(rows * frappe.count * k) : 6.0 * Double(rows * macs)
            indices.withUnsafeBufferPointer { idx in
                let x = SparseRows(rowCount: rows, fieldCount: frappe.count, indices: idx.baseAddress!)
                lines.append(Line(name: "\(kind.rawValue) train step (batch \(rows), k=\(k))", flops: stepFlops, seconds: time(kind == .hofm ? 500 : 10) {
                    model.trainStep(x, targets: targets.pointer, workspace: ws, optimizer: optimizer, random: &dropout)
                }))
            }
        }
        return lines
    }

    /// The dense products of Wide&Deep at factors `k` (input `10k` → 1024, batch `rows`) as the training
    /// step issues them — `WorkerPool` calls `gemm` on blocks of 32 rows (activations) or 256 rows (weight
    /// gradients, `m` > 256) — plus NFM's small 64-wide product, for before/after comparisons of GEMM.swift.
    static func largeProducts(rows: Int = 128, k: Int = 128, width: Int = 1_024) -> [Line] {
        var random = Xoshiro256(seed: 3)
        func buffer(_ n: Int) -> FloatBuffer {
            let b = FloatBuffer(count: n)
            for i in 0..<n { b[i] = Float(random.nextNormal()) }
            return b
        }
        let d = 10 * k
        let a = buffer(rows * d), w = buffer(d * width), c = buffer(rows * width), t = buffer(d * width)
        let g = buffer(d * width), da = buffer(rows * d)
        let flops = 2.0 * Double(rows * d * width)
        func blocks(_ total: Int, _ grain: Int, _ body: (Int, Int) -> Void) {
            var start = 0
            while start < total {
                body(start, min(grain, total - start))
                start += grain
            }
        }
        var lines: [Line] = []
        let small = (a: buffer(rows * 64), w: buffer(64 * 64), c: buffer(rows * 64))
        lines.append(Line(name: "gemm A·W (\(rows)×64·64×64)", flops: 2.0 * Double(rows * 64 * 64), seconds: time(4000) {
            gemm(m: rows, n: 64, p: 64, a: small.a.pointer, aRowStride: 64, aColStride: 1, b: small.w.pointer, c: small.c.pointer, accumulate: true)
        }))
        lines.append(Line(name: "gemm A·W (\(rows)×\(d)·\(d)×\(width)), 32-row calls", flops: flops, seconds: time(1, repeats: 60) {
            blocks(rows, 32) { i, mb in
                gemm(m: mb, n: width, p: d, a: a.pointer + i * d, aRowStride: d, aColStride: 1, b: w.pointer, c: c.pointer + i * width, accumulate: true)
            }
        }))
        lines.append(Line(name: "gemm A·W (\(rows)×\(d)·\(d)×\(width)), one call", flops: flops, seconds: time(1, repeats: 60) {
            gemm(m: rows, n: width, p: d, a: a.pointer, aRowStride: d, aColStride: 1, b: w.pointer, c: c.pointer, accumulate: true)
        }))
        lines.append(Line(name: "gemm Aᵀ·dZ (\(d)×\(rows)·\(rows)×\(width)), 256-row calls", flops: flops, seconds: time(1, repeats: 60) {
            blocks(d, 256) { i, mb in
                gemm(m: mb, n: width, p: rows, a: a.pointer + i, aRowStride: 1, aColStride: d, b: c.pointer, c: g.pointer + i * width, accumulate: false)
            }
        }))
        lines.append(Line(name: "transposeRows \(d)×\(width), 32-row calls", flops: 0, seconds: time(1, repeats: 60) {
            blocks(d, 32) { i, mb in transposeRows(i..<(i + mb), columns: width, of: w.pointer, rows: d, into: t.pointer) }
        }))
        lines.append(Line(name: "gemm dZ·Wᵀ (\(rows)×\(width)·\(width)×\(d)), Wᵀ given, 32-row calls", flops: flops, seconds: time(1, repeats: 60) {
            blocks(rows, 32) { i, mb in
                gemm(m: mb, n: d, p: width, a: c.pointer + i * width, aRowStride: width, aColStride: 1, b: t.pointer, c: da.pointer + i * d, accumulate: false)
            }
        }))
        lines.append(Line(name: "gemmTransposedB dZ·Wᵀ from W, 32-row calls", flops: flops, seconds: time(1, repeats: 60) {
            blocks(rows, 32) { i, mb in
                gemmTransposedB(
                    m: mb, n: d, p: width, a: c.pointer + i * width, aRowStride: width, b: w.pointer, bRowStride: width,
                    c: da.pointer + i * d, cRowStride: d, accumulate: false)
            }
        }))
        lines.append(Line(name: "gemmTransposedB dZ·Wᵀ from W, 256-column calls", flops: flops, seconds: time(1, repeats: 60) {
            blocks(d, 256) { j, nb in
                gemmTransposedB(
                    m: rows, n: nb, p: width, a: c.pointer, aRowStride: width, b: w.pointer + j * width, bRowStride: width,
                    c: da.pointer + j, cRowStride: d, accumulate: false)
            }
        }))
        let packedW = FloatBuffer(count: PackedOperand.floatCount(rows: d, columns: width))
        let packedWt = FloatBuffer(count: PackedOperand.floatCount(rows: width, columns: d))
        let pw = PackedOperand(rows: d, columns: width, storage: packedW.pointer)
        let pwt = PackedOperand(rows: width, columns: d, storage: packedWt.pointer)
        lines.append(Line(name: "pack W (\(d)×\(width)) (PackedOperand)", flops: 0, seconds: time(1, repeats: 60) {
            for block in 0..<pw.columnBlocks { pw.pack(columnBlock: block, of: w.pointer, rowStride: width, transposed: false) }
        }))
        lines.append(Line(name: "pack Wᵀ read from W (PackedOperand)", flops: 0, seconds: time(1, repeats: 60) {
            for block in 0..<pwt.columnBlocks { pwt.pack(columnBlock: block, of: w.pointer, rowStride: width, transposed: true) }
        }))
        lines.append(Line(name: "gemm A·W prepacked, 32-row calls", flops: flops, seconds: time(1, repeats: 60) {
            blocks(rows, 32) { i, mb in
                gemm(m: mb, a: a.pointer + i * d, aRowStride: d, aColStride: 1, packed: pw, c: c.pointer + i * width, cRowStride: width, accumulate: true)
            }
        }))
        lines.append(Line(name: "gemm dZ·Wᵀ prepacked from W, 32-row calls", flops: flops, seconds: time(1, repeats: 60) {
            blocks(rows, 32) { i, mb in
                gemm(m: mb, a: c.pointer + i * width, aRowStride: width, aColStride: 1, packed: pwt, c: da.pointer + i * d, cRowStride: d, accumulate: false)
            }
        }))
        let smallT = (d: buffer(rows * 64), w: buffer(64 * 64), out: buffer(rows * 64))
        lines.append(Line(name: "gemmTransposedB dZ·Wᵀ (\(rows)×64·64×64), 32-row calls", flops: 2.0 * Double(rows * 64 * 64), seconds: time(4000) {
            blocks(rows, 32) { i, mb in
                gemmTransposedB(
                    m: mb, n: 64, p: 64, a: smallT.d.pointer + i * 64, aRowStride: 64, b: smallT.w.pointer, bRowStride: 64,
                    c: smallT.out.pointer + i * 64, cRowStride: 64, accumulate: false)
            }
        }))
        let smallPacked = FloatBuffer(count: PackedOperand.floatCount(rows: 64, columns: 64))
        let sp = PackedOperand(rows: 64, columns: 64, storage: smallPacked.pointer)
        sp.pack(columnBlock: 0, of: small.w.pointer, rowStride: 64, transposed: false)
        lines.append(Line(name: "gemm A·W (\(rows)×64·64×64) prepacked, 32-row calls", flops: 2.0 * Double(rows * 64 * 64), seconds: time(4000) {
            blocks(rows, 32) { i, mb in
                gemm(m: mb, a: small.a.pointer + i * 64, aRowStride: 64, aColStride: 1, packed: sp, c: small.c.pointer + i * 64, cRowStride: 64, accumulate: true)
            }
        }))
        lines.append(Line(name: "gemm A·W (\(rows)×64·64×64), 32-row calls", flops: 2.0 * Double(rows * 64 * 64), seconds: time(4000) {
            blocks(rows, 32) { i, mb in
                gemm(m: mb, n: 64, p: 64, a: small.a.pointer + i * 64, aRowStride: 64, aColStride: 1, b: small.w.pointer, c: small.c.pointer + i * 64, accumulate: true)
            }
        }))
        return lines
    }
}
