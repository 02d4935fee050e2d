import Foundation
import NFMFormat
import NFMKernels
import Testing

@testable import NFMModel

/// `--threads` never changes a result: every training step is cut into tasks fixed by the batch's
/// shape (row blocks, element blocks, weight-gradient blocks, gradient slots), so metrics, predictions
/// and checkpoint bytes are the same bits for 1, 2 or 3 threads.
@Suite struct ParallelTrainingTests {
    struct Case: CustomStringConvertible, Sendable {
        var kind: ModelKind
        var layers: [Int]
        var loss: LossKind
        var description: String { "\(kind) \(layers) \(loss)" }
    }

    /// Every model kind, squared and log loss; Wide&Deep's first layer (24 × 200) spans two element
    /// blocks of the optimiser.
    static let cases: [Case] = [
        Case(kind: .nfm, layers: [8], loss: .squared), Case(kind: .nfm, layers: [8, 8], loss: .log),
        Case(kind: .fm, layers: [], loss: .squared), Case(kind: .fm, layers: [], loss: .log),
        Case(kind: .lr, layers: [], loss: .squared), Case(kind: .lr, layers: [], loss: .log),
        Case(kind: .wideDeep, layers: [200, 8], loss: .squared), Case(kind: .wideDeep, layers: [16], loss: .log),
        Case(kind: .deepCross, layers: [16, 8], loss: .squared), Case(kind: .deepCross, layers: [8], loss: .log),
        Case(kind: .hofm, layers: [], loss: .squared), Case(kind: .hofm, layers: [], loss: .log),
    ]

    /// 120 features in 3 fields: a batch of 45 rows (32 + 13 in row blocks; the 230 training rows end in
    /// a batch of 5) holds about 85 distinct features, so two slot blocks and many duplicates.
    static let cardinalities = [40, 30, 50]

    @Test(arguments: cases)
    func threadCountNeverChangesMetricsCheckpointsOrPredictions(_ c: Case) throws {
        let dir = temporaryDirectory()
        defer { FileSystem.remove(dir) }
        let cards = Self.cardinalities
        try writeDataset(
            directory: dir + "/data", cardinalities: cards,
            splits: [
                .train: randomRows(count: 230, cardinalities: cards, seed: 1),
                .validation: randomRows(count: 90, cardinalities: cards, seed: 2),
                .test: randomRows(count: 70, cardinalities: cards, seed: 3),
            ])
        let dataset = try Dataset.load(directory: dir + "/data")
        let config = ModelConfig(
            kind: c.kind, featureCount: 120, factors: 8, layers: c.layers, biDropout: 0.3,
            hiddenDropout: c.layers.map { _ in 0.2 }, loss: c.loss)
        var runs: [(records: [[Double?]], checkpoint: [UInt8], predictions: [Float])] = []
        // Threads 1…3, then 2 threads switching between the pool and the calling thread from step to step.
        let runsOf: [(threads: Int, choice: ThreadChoice.Schedule)] =
            [(1, .standard), (2, .standard), (3, .standard), (2, .init(sample: 1, period: 3))]
        for (run, (threads, choice)) in runsOf.enumerated() {
            var options = TrainingOptions()
            options.threadChoice = choice
            options.epochs = 2
            options.batchSize = 45
            options.earlyStop = false
            options.threads = threads
            options.minimumParallelCost = 0
            options.learningRate = c.kind == .deepCross || c.kind == .wideDeep ? 0.01 : 0.05
            options.outDirectory = dir + "/run\(run)"
            let result = try Trainer(dataset: dataset, config: config, options: options).run()
            let records = result.records.map {
                [$0.trainLoss, $0[.train].primary, $0[.validation].primary, $0[.test].primary, $0[.validation].auc]
            }
            let predictor = Predictor(model: result.bestModel, threads: threads, batchRows: 16)
            runs.append(
                (records, try ReadableFile.readAll(dir + "/run\(run)/model.nfmc"), predictor.predict(dataset[.validation]!)))
        }
        #expect(runs[0].records.count == 2)
        #expect(runs[0].records.allSatisfy { $0.allSatisfy { $0?.isFinite ?? true } })
        for other in runs.dropFirst() {
            #expect(other.records == runs[0].records, "\(c)")
            #expect(other.checkpoint == runs[0].checkpoint, "\(c)")
            #expect(other.predictions == runs[0].predictions, "\(c)")
        }
    }

    /// The finite-difference check of every analytic gradient on a batch of 70 rows (row blocks 32, 32,
    /// 6) over 120 features (about 100 distinct, so two slot blocks, most of them repeated), run on a
    /// two-thread workspace (tanh, a smooth activation: 70 rows of ReLU put kinks within any step); the
    /// analytic gradients are also the same bits as on one thread.
    @Test(arguments: [ModelKind.nfm, .wideDeep, .deepCross, .hofm])
    func chunkedGradientsMatchFiniteDifferences(_ kind: ModelKind) throws {
        let cards = Self.cardinalities
        let rows = 70
        let layers: [Int] = kind == .nfm ? [8] : kind == .hofm ? [] : [8, 6]
        let config = ModelConfig(
            kind: kind, featureCount: 120, factors: 4, layers: layers, activation: .tanh, biDropout: 0.2,
            hiddenDropout: layers.map { _ in 0.2 }, batchNorm: kind == .nfm, loss: .squared,
            fieldSizes: kind.concatenatesFields ? cards : nil)
        let model = Model(config: config)
        randomize(model, seed: 13, scale: 0.3)
        let data = randomRows(count: rows, cardinalities: cards, seed: 9)
        let indices = data.flatMap(\.features)
        #expect(Set(indices).count > WorkerPool.slotGrain && Set(indices).count < indices.count)
        try indices.withUnsafeBufferPointer { idx in
            let x = SparseRows(rowCount: rows, fieldCount: cards.count, indices: idx.baseAddress!)
            let check = checkModelGradients(
                model, x, rows: rows, targets: data.map(\.label), featureCount: 120, retrySmallerStep: true, threads: 2)
            #expect(check.failures.isEmpty, "\(kind): \(check.failures.prefix(5))")
            #expect(check.checked > 120)
            let one = try #require(gradients(model, x, rows: rows, targets: data.map(\.label), threads: 1))
            let two = try #require(gradients(model, x, rows: rows, targets: data.map(\.label), threads: 2))
            #expect(one == two)
        }
    }

    /// Every dense and slot gradient of one backward pass, in order.
    func gradients(_ model: Model, _ x: SparseRows, rows: Int, targets: [Float], threads: Int) -> [[Float]]? {
        let ws = Workspace(model: model, capacity: rows, pool: WorkerPool(threads: threads, minimumParallelCost: 0))
        var random = Xoshiro256(seed: 77)
        model.forward(x, workspace: ws, training: true, random: &random)
        _ = model.lossGradient(rows: rows, targets: targets, workspace: ws)
        model.assignSlots(x, workspace: ws)
        model.backward(x, workspace: ws)
        defer { model.releaseSlots(workspace: ws) }
        let slots = ws.slots.count
        return ws.denseGradients.map(\.array)
            + model.sparseGradients(in: ws).map { Array($0.gradient.array.prefix(slots * $0.parameter.width)) }
    }

    /// The slot-major sparse backward kernels give the same bits as the row-major scatter they replace
    /// (same sums, same order), on unit rows and on ragged weighted rows, with many duplicated features.
    @Test(arguments: [false, true])
    func slotMajorKernelsEqualTheRowMajorScatter(weighted: Bool) {
        let (rows, k, fields, features) = (40, 12, 3, 30)
        var random = Xoshiro256(seed: 21)
        var indices: [UInt32] = [], values: [Float] = [], offsets: [UInt32] = [0]
        for _ in 0..<rows {
            let count = weighted ? 1 + random.next(below: 4) : fields
            for f in 0..<count {
                indices.append(UInt32((f % fields) * 10 + random.next(below: 10)))
                values.append(Float(0.5 + random.nextUnit()))
            }
            offsets.append(UInt32(indices.count))
        }
        let fieldOf = (0..<features).map { Int32($0 / 10) }
        let embeddings = (0..<(features * k)).map { _ in Float(random.nextNormal()) }
        let perRow = (0..<(rows * fields * k)).map { _ in Float(random.nextNormal()) }
        let sums = (0..<(rows * k)).map { _ in Float(random.nextNormal()) }
        let squares = (0..<(rows * k)).map { _ in Float(random.nextNormal()) }
        let g = (0..<rows).map { _ in Float(random.nextNormal()) }
        indices.withUnsafeBufferPointer { idx in
            values.withUnsafeBufferPointer { val in
                offsets.withUnsafeBufferPointer { off in
                    let x = weighted
                        ? SparseRows(rowCount: rows, fieldCount: 0, indices: idx.baseAddress!, offsets: off.baseAddress!, values: val.baseAddress!)
                        : SparseRows(rowCount: rows, fieldCount: fields, indices: idx.baseAddress!)
                    let slots = SlotAssignment(featureCount: features)
                    slots.assign(x)
                    #expect(slots.count < x.entryCount)
                    let n = slots.count
                    slots.entrySlots.withUnsafeBufferPointer { entrySlots in
                        let es = entrySlots.baseAddress!
                        var a = [Float](repeating: 0, count: n * k), b = a
                        biInteractionBackward(x, factors: k, embeddings: embeddings, sum: sums, gradInteraction: perRow, entrySlots: es, gradEmbeddings: &a)
                        biInteractionBackward(x, factors: k, embeddings: embeddings, sum: sums, gradInteraction: perRow, entries: slots.entries, slots: 0..<n, gradEmbeddings: &b)
                        #expect(a == b)
                        (a, b) = ([Float](repeating: 0, count: n * k), [Float](repeating: 0, count: n * k))
                        anova3Backward(x, factors: k, embeddings: embeddings, sum: sums, sumSquares: squares, gradKernel: perRow, entrySlots: es, gradEmbeddings: &a)
                        anova3Backward(x, factors: k, embeddings: embeddings, sum: sums, sumSquares: squares, gradKernel: perRow, entries: slots.entries, slots: 0..<n, gradEmbeddings: &b)
                        #expect(a == b)
                        (a, b) = ([Float](repeating: 0, count: n * k), [Float](repeating: 0, count: n * k))
                        fieldOf.withUnsafeBufferPointer { fo in
                            fieldConcatBackward(x, factors: k, fieldCount: fields, fieldOf: fo.baseAddress!, gradConcat: perRow, entrySlots: es, gradEmbeddings: &a)
                            fieldConcatBackward(x, factors: k, fieldCount: fields, fieldOf: fo.baseAddress!, gradConcat: perRow, entries: slots.entries, slots: 0..<n, gradEmbeddings: &b)
                        }
                        #expect(a == b)
                        (a, b) = ([Float](repeating: 0, count: n), [Float](repeating: 0, count: n))
                        linearBackward(x, gradOutput: g, entrySlots: es, gradWeights: &a)
                        linearBackward(x, gradOutput: g, entries: slots.entries, slots: 0..<n, gradWeights: &b)
                        #expect(a == b && a.contains { $0 != 0 })
                    }
                }
            }
        }
    }

    @Test func poolRunsEveryTaskOnceInFixedRanges() {
        let pool = WorkerPool(threads: 3)
        for count in [0, 1, 2, 7, 100, 3000] {  // 3000: more tasks than claim words (run in groups)
            let hits = UnsafeMutablePointer<Int>.allocate(capacity: max(count, 1))
            hits.initialize(repeating: 0, count: max(count, 1))
            pool.run(count) { hits[$0] += 1 }
            #expect((0..<count).allSatisfy { hits[$0] == 1 })
            hits.deallocate()
        }
        var ranges: [[Range<Int>]] = []
        for threads in [1, 2, 3] {
            let pool = WorkerPool(threads: threads)
            let found = UnsafeMutablePointer<Range<Int>>.allocate(capacity: 4)
            found.initialize(repeating: 0..<0, count: 4)
            pool.forEachRange(70, grain: 32) { range in found[range.lowerBound / 32] = range }
            ranges.append(Array(UnsafeBufferPointer(start: found, count: 3)))
            found.deallocate()
        }
        #expect(ranges.allSatisfy { $0 == [0..<32, 32..<64, 64..<70] })
    }
}
