import Foundation
import NFMKernels
import Testing

@testable import NFMModel

/// The team training step (`Model.teamTrainStep`, one SPMD job per step; on one thread a team of one)
/// gives the same bits as the fork-join step on one thread: every parameter, moving statistic and batch loss after
/// several steps, for 2 and 3 threads, over the shapes it takes (NFM with one or two hidden layers, with and
/// without batch norm and dropout, every activation, log loss, Adam; FM; LR; weighted sparse rows), and for
/// batches whose rows do not divide evenly (a last batch of 5 rows: thread 0's share is empty).
@Suite struct TeamStepTests {
    struct Case: CustomStringConvertible, Sendable {
        var kind: ModelKind
        var layers: [Int] = []
        var activation: Activation = .relu
        var batchNorm = true
        var dropout: Float = 0.3
        var loss: LossKind = .squared
        var optimizer: OptimizerKind = .adagrad
        var weighted = false
        var description: String {
            "\(kind) \(layers) \(activation) bn \(batchNorm) dropout \(dropout) \(loss) \(optimizer) weighted \(weighted)"
        }
    }

    static let cases: [Case] = [
        Case(kind: .nfm, layers: [8]),
        Case(kind: .nfm, layers: [8, 6], loss: .log),
        Case(kind: .nfm, layers: [12, 8], activation: .tanh, optimizer: .adam),
        Case(kind: .nfm, layers: [8, 8], activation: .sigmoid, batchNorm: false),
        Case(kind: .nfm, layers: [8], activation: .identity, dropout: 0, weighted: true),
        Case(kind: .nfm, layers: [70, 8]),  // layer 1: ∂W = aᵀ·dZ with 70-wide a, the blocked GEMM
        Case(kind: .fm), Case(kind: .fm, batchNorm: false, dropout: 0, loss: .log),
        Case(kind: .lr), Case(kind: .lr, loss: .log, weighted: true),
    ]

    /// 150 features in 3 fields (weighted: ragged rows of 1–4 features with values).
    static let cardinalities = [40, 60, 50]

    @Test(arguments: cases)
    func teamStepGivesTheBitsOfTheSerialStep(_ c: Case) throws {
        let config = ModelConfig(
            kind: c.kind, featureCount: 150, factors: 16, layers: c.layers, activation: c.activation,
            biDropout: c.dropout, hiddenDropout: c.layers.map { _ in c.dropout }, batchNorm: c.batchNorm, loss: c.loss)
        let batches = Self.batches(weighted: c.weighted, sizes: [45, 45, 40, 5, 45])
        var runs: [(parameters: [[Float]], losses: [Double])] = []
        let names = Model(config: config).namedTensors.map(\.name)
        // The fork-join step on one thread (the reference), then the team step: a team of one (one
        // thread, and a two-thread pool set to run inline), two and three threads.
        let configurations: [(threads: Int, forkJoin: Bool, inline: Bool)] = [
            (1, true, false), (1, false, false), (2, false, true), (2, false, false), (3, false, false),
        ]
        for (threads, forkJoin, inline) in configurations {
            let model = Model(config: config)
            randomize(model, seed: 5, scale: 0.3)
            #expect(model.supportsTeamStep)
            let pool = WorkerPool(threads: threads, minimumParallelCost: 0)
            pool.runsInline = inline
            let ws = Workspace(model: model, capacity: 45, pool: pool)
            ws.forkJoinStep = forkJoin
            let optimizer = Optimizer(kind: c.optimizer, learningRate: c.optimizer == .adam ? 0.01 : 0.05, l2: 0.001)
            var random = Xoshiro256(seed: 9, stream: .dropout)
            var losses: [Double] = []
            for batch in batches {
                losses.append(batch.withRows { x, targets in
                    model.trainStep(x, targets: targets, workspace: ws, optimizer: optimizer, random: &random)
                })
            }
            runs.append((model.namedTensors.map(\.buffer.array), losses))
        }
        #expect(runs[0].losses.allSatisfy { $0.isFinite })
        #expect(runs[0].parameters != Model(config: config).namedTensors.map(\.buffer.array))
        for run in runs.dropFirst() {
            #expect(run.losses == runs[0].losses, "\(c)")
            let differing = zip(names, zip(run.parameters, runs[0].parameters)).filter { $1.0 != $1.1 }.map(\.0)
            #expect(differing.isEmpty, "\(c): \(differing)")
        }
    }

    /// A batch handed over before its rows are copied (`fill`, as `CachedBatchSource` does for fixed rows)
    /// trains to the bits of the same batch in place, on one thread and in the team step, where each
    /// thread copies its own rows.
    @Test func deferredRowsTrainToTheSameBits() {
        let config = ModelConfig(kind: .nfm, featureCount: 150, factors: 16, layers: [8, 8], biDropout: 0.3, hiddenDropout: [0.2, 0.2])
        let batches = Self.batches(weighted: false, sizes: [45, 45, 5, 45])
        var results: [[[Float]]] = []
        for (threads, deferred) in [(1, false), (1, true), (2, true), (3, true)] {
            let model = Model(config: config)
            randomize(model, seed: 5, scale: 0.3)
            let ws = Workspace(model: model, capacity: 45, pool: WorkerPool(threads: threads, minimumParallelCost: 0))
            ws.forkJoinStep = !deferred  // the reference: the fork-join step on rows in place
            let optimizer = Optimizer(kind: .adagrad, learningRate: 0.05)
            var random = Xoshiro256(seed: 9, stream: .dropout)
            let f = Self.cardinalities.count
            let indices = UnsafeMutablePointer<UInt32>.allocate(capacity: 45 * f)
            let targets = UnsafeMutablePointer<Float>.allocate(capacity: 45)
            defer { indices.deallocate(); targets.deallocate() }
            for batch in batches {
                indices.initialize(repeating: 0, count: 45 * f)  // feature 0 until filled
                targets.initialize(repeating: 0, count: 45)
                let rows = batch.targets.count
                let fill: RowFill = { range in
                    for r in range {
                        for j in 0..<f { indices[r * f + j] = batch.indices[r * f + j] }
                        targets[r] = batch.targets[r]
                    }
                }
                if !deferred { fill(0..<rows) }
                let x = SparseRows(rowCount: rows, fieldCount: f, indices: indices)
                _ = model.trainStep(x, targets: targets, workspace: ws, optimizer: optimizer, random: &random, fill: deferred ? fill : nil)
            }
            results.append(model.namedTensors.map(\.buffer.array))
        }
        #expect(results.dropFirst().allSatisfy { $0 == results[0] })
    }

    /// Wide&Deep, DeepCross and HOFM keep the fork-join step.
    @Test func otherKindsKeepTheForkJoinStep() {
        for kind in [ModelKind.wideDeep, .deepCross, .hofm] {
            let config = ModelConfig(kind: kind, featureCount: 150, factors: 4, layers: [8], fieldSizes: Self.cardinalities)
            #expect(!Model(config: config).supportsTeamStep, "\(kind)")
        }
    }

    /// A team's shares cover the rows in order; relays run in thread order (each leg sees the previous
    /// legs' writes); claimed items of uneven ranges run once each; barriers order the phases.
    @Test(arguments: [1, 2, 3])
    func teamMembersShareRelayAndClaim(threads: Int) {
        let pool = WorkerPool(threads: threads)
        let log = UnsafeMutablePointer<Int>.allocate(capacity: 64)
        let hits = UnsafeMutablePointer<Int>.allocate(capacity: 100)
        let shares = UnsafeMutablePointer<Range<Int>>.allocate(capacity: threads)
        defer { log.deallocate(); hits.deallocate(); shares.deallocate() }
        for round in 0..<20 {
            log.initialize(repeating: -1, count: 64)
            hits.initialize(repeating: 0, count: 100)
            var length = 0
            pool.runTeam { member in
                let index = member.index
                shares[index] = member.share(of: 45 + round, unit: 8)
                member.turn {
                    log[length] = index
                    length += 1
                }
                member.awaitLast()
                #expect(length == threads)
                // Uneven ranges (thread 0 holds 90 items, the others 5 each, thread 1 none in odd rounds):
                // every item runs once.
                member.forEachClaimed(ranges: { t in
                    t == 0 ? 0..<90 : (t == 1 && round % 2 == 1 ? 90..<90 : (85 + 5 * t)..<(90 + 5 * t))
                }) { hits[$0] += 1 }
                member.barrier()
            }
            let items = 90 + 5 * (threads - 1)
            #expect((0..<threads).map { log[$0] } == Array(0..<threads))
            #expect((0..<items).allSatisfy { hits[$0] == (round % 2 == 1 && (90..<95).contains($0) ? 0 : 1) })
            #expect((items..<100).allSatisfy { hits[$0] == 0 })
            let ranges = (0..<threads).map { shares[$0] }
            #expect(ranges.first?.lowerBound == 0 && ranges.last?.upperBound == 45 + round)
            #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
            #expect(ranges.dropLast().allSatisfy { $0.upperBound % 8 == 0 })
        }
    }

    /// Training batches over `cardinalities`: fixed rows, or ragged weighted rows.
    static func batches(weighted: Bool, sizes: [Int]) -> [Batch] {
        var random = Xoshiro256(seed: 17)
        return sizes.map { rows in
            var batch = Batch()
            for _ in 0..<rows {
                let fields = weighted ? 1 + random.next(below: 3) : cardinalities.count
                var offset = 0
                for f in 0..<cardinalities.count {
                    if f < fields {
                        batch.indices.append(UInt32(offset + random.next(below: cardinalities[f])))
                        batch.values.append(0.5 + random.nextUnit())
                    }
                    offset += cardinalities[f]
                }
                batch.offsets.append(UInt32(batch.indices.count))
                batch.targets.append(random.next(below: 2) == 0 ? 0 : 1)
            }
            batch.weighted = weighted
            return batch
        }
    }

    struct Batch {
        var indices: [UInt32] = []
        var values: [Float] = []
        var offsets: [UInt32] = [0]
        var targets: [Float] = []
        var weighted = false

        func withRows<T>(_ body: (SparseRows, UnsafePointer<Float>) -> T) -> T {
            indices.withUnsafeBufferPointer { i in
                values.withUnsafeBufferPointer { v in
                    offsets.withUnsafeBufferPointer { o in
                        targets.withUnsafeBufferPointer { t in
                            let rows = targets.count
                            let x = weighted
                                ? SparseRows(rowCount: rows, fieldCount: 0, indices: i.baseAddress!, offsets: o.baseAddress!, values: v.baseAddress!)
                                : SparseRows(rowCount: rows, fieldCount: TeamStepTests.cardinalities.count, indices: i.baseAddress!)
                            return body(x, t.baseAddress!)
                        }
                    }
                }
            }
        }
    }
}
