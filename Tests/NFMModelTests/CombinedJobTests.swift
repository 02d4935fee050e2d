import NFMKernels
import Testing

@testable import NFMModel

/// The combined jobs of a training step (several independent block jobs handed to the pool at once, and
/// batch norm's column and row jobs carrying the layer's element-wise work): the blocks are fixed by the
/// shapes, and every reduction sums the rows of a column in row order whatever the thread count.
@Suite struct CombinedJobTests {
    /// Every block of a three-part job runs once, with the same ranges for 1…4 threads.
    @Test func combinedJobsRunEveryBlockOnceInFixedRanges() {
        var seen: [[String]] = []
        for threads in 1...4 {
            let pool = WorkerPool(threads: threads, minimumParallelCost: 0)
            let parts = (BlockSplit.columns(40), BlockSplit(total: 70, grain: 16), BlockSplit.rows(70))
            let total = parts.0.blocks + parts.1.blocks + parts.2.blocks
            let found = UnsafeMutablePointer<String>.allocate(capacity: total)
            found.initialize(repeating: "", count: total)
            pool.forEachBlock(parts.0, parts.1, parts.2, cost: 1) { found[$0.lowerBound / 32] += "a\($0)" } _: {
                found[parts.0.blocks + $0.lowerBound / 16] += "b\($0)"
            } _: { found[parts.0.blocks + parts.1.blocks + $0.lowerBound / 32] += "c\($0)" }
            seen.append(Array(UnsafeBufferPointer(start: found, count: total)))
            found.deinitialize(count: total)
            found.deallocate()
        }
        #expect(seen[0] == [
            "a0..<32", "a32..<40", "b0..<16", "b16..<32", "b32..<48", "b48..<64", "b64..<70",
            "c0..<32", "c32..<64", "c64..<70",
        ])
        #expect(seen.allSatisfy { $0 == seen[0] })
    }

    /// A column sum inside a combined job is the row-order sum for every thread count. The rows are
    /// chosen so that any other order changes the Float result: 1e8, then 1s (absorbed), −1e8 at row 100,
    /// then 1s again gives 99 in row order, but 0 (or 100, …) if the rows were split between threads and
    /// their partial sums added.
    @Test func columnReductionsKeepRowOrderForEveryThreadCount() {
        let (rows, width) = (200, 40)
        var x = [Float](repeating: 1, count: rows * width)
        for j in 0..<width {
            x[j] = 1e8
            x[100 * width + j] = -1e8
        }
        var rowOrder: Float = 0
        for r in 0..<rows { rowOrder += x[r * width] }
        #expect(rowOrder == 99)
        for threads in 1...3 {
            let pool = WorkerPool(threads: threads, minimumParallelCost: 0)
            var sums = [Float](repeating: .nan, count: width)
            var copies = [Float](repeating: 0, count: rows * width)
            x.withUnsafeBufferPointer { x in
                sums.withUnsafeMutableBufferPointer { out in
                    copies.withUnsafeMutableBufferPointer { copy in
                        let (x, out, copy) = (x.baseAddress!, out.baseAddress!, copy.baseAddress!)
                        pool.forEachBlock(.columns(width), .rows(rows), cost: 1) { block in
                            columnSums(rows: rows, width: block.count, rowStride: width, x + block.lowerBound, into: out + block.lowerBound)
                        } _: { block in
                            let at = block.lowerBound * width
                            (copy + at).update(from: x + at, count: block.count * width)
                        }
                    }
                }
            }
            #expect(sums == [Float](repeating: 99, count: width), "threads \(threads)")
            #expect(copies == x)
        }
    }

    /// The fused dropout-and-ReLU (or identity) backward of column blocks equals `multiply` then
    /// `activationBackward` on the whole matrix, bit for bit (27 columns: blocks of 16 and 11, SIMD
    /// bodies and scalar tails).
    @Test(arguments: [ActivationKind.relu, .identity])
    func fusedMaskedActivationBackwardEqualsTheTwoPasses(_ kind: ActivationKind) {
        let (rows, width) = (9, 27)
        var random = Xoshiro256(seed: 5)
        let y = (0..<(rows * width)).map { _ in Float(random.nextNormal()) }
        let mask = (0..<(rows * width)).map { _ in random.nextUnit() < 0.5 ? Float(2) : 0 }
        let g = (0..<(rows * width)).map { _ in Float(random.nextNormal()) }
        var expected = g
        multiply(count: rows * width, &expected, by: mask)
        activationBackward(kind, count: rows * width, output: y, grad: &expected)
        var fused = g
        mask.withUnsafeBufferPointer { mask in
            y.withUnsafeBufferPointer { y in
                fused.withUnsafeMutableBufferPointer { fused in
                    for start in stride(from: 0, to: width, by: 16) {
                        maskedActivationBackward(
                            kind, rows: rows, width: min(16, width - start), rowStride: width,
                            mask: mask.baseAddress! + start, output: y.baseAddress! + start, grad: fused.baseAddress! + start)
                    }
                }
            }
        }
        #expect(fused.map(\.bitPattern) == expected.map(\.bitPattern))
    }

    /// The sparse backward's slot blocks tile the batch's slots, each but the last holding at least
    /// `entryGrain` entries and dropping below it without its last slot: a function of the batch alone.
    @Test func slotBlocksAreCutByEntries() {
        let (rows, fields) = (300, 4)
        // Field 0 has 3 values (frequent features), the others 200 (rare ones).
        let indices = skewedIndices(rows: rows, fields: fields, frequent: 3, rare: 200, seed: 9)
        indices.withUnsafeBufferPointer { idx in
            let x = SparseRows(rowCount: rows, fieldCount: fields, indices: idx.baseAddress!)
            let slots = SlotAssignment(featureCount: 603)
            slots.assign(x)
            let starts = slots.blockStarts.map(Int.init)
            let entries = slots.entries
            func size(_ b: Int) -> Int { Int(entries.start[starts[b + 1]]) - Int(entries.start[starts[b]]) }
            #expect(starts.first == 0 && starts.last == slots.count && starts.count > 3)
            #expect(zip(starts, starts.dropFirst()).allSatisfy { $0 < $1 })
            for b in 0..<(starts.count - 2) {
                #expect(size(b) >= SlotAssignment.entryGrain)
                let withoutLast = Int(entries.start[starts[b + 1] - 1]) - Int(entries.start[starts[b]])
                #expect(withoutLast < SlotAssignment.entryGrain)
            }
            #expect((0..<(starts.count - 1)).map(size).reduce(0, +) == rows * fields)
        }
    }
}
