import Foundation
import NFMFormat
import NFMTestSupport
import Testing

@testable import NFMPipeline

/// The gathering writer of the partitioned build: the inverse permutation, the packed instance table, the
/// pair filter, and the fallback to the scatter when a row is unsampleable.
@Suite struct GatherBuildTests {
    @Test func theInverseUndoesThePermutation() {
        for count in [1, 2, 3, 4, 5, 7, 8, 9, 17, 100, 1000, 4097, 65_537] as [UInt64] {
            let permutation = FeistelPermutation(count: count, seed: 2017 &+ count)
            var seen = [Bool](repeating: false, count: Int(count))
            for g in 0..<count {
                let p = permutation.position(of: g)
                #expect(permutation.instance(at: p) == g, "count \(count) g \(g)")
                seen[Int(p)] = true
            }
            #expect(seen.allSatisfy { $0 }, "count \(count)")
        }
        let large = FeistelPermutation(count: 9_000_000_011, seed: 7)
        var generator = SplitMix64(seed: 1, stream: 0, index: 0)
        for _ in 0..<2000 {
            let g = generator.below(large.count)
            #expect(large.instance(at: large.position(of: g)) == g)
        }
    }

    /// Checks a batched inverse of `permutation` (`inverse(start, n, out, pending)`) against the pointwise
    /// `instance(at:)` for batches of every length 0…70 from several starts.
    func expectBatchedInverse(
        of permutation: FeistelPermutation,
        _ inverse: (UInt64, Int, UnsafeMutablePointer<UInt64>, UnsafeMutablePointer<Int>) -> Void
    ) {
        let count = permutation.count
        let out = UnsafeMutablePointer<UInt64>.allocate(capacity: 70)
        let pending = UnsafeMutablePointer<Int>.allocate(capacity: 70)
        defer { out.deallocate(); pending.deallocate() }
        for start in Set([0, count / 3, count - min(count, 70)]) {
            for n in 0...Int(min(70, count - start)) {
                inverse(start, n, out, pending)
                let expected = (0..<n).map { permutation.instance(at: start + UInt64($0)) }
                #expect(Array(UnsafeBufferPointer(start: out, count: n)) == expected, "count \(count) start \(start) n \(n)")
            }
        }
    }

    @Test func theBatchedInverseEqualsThePointwiseOne() {
        // Batches of every length 0…70 (four-lane vectors, the scalar tail, the re-walked lanes packed
        // four to a vector or not), from several starts, for sizes just above and below powers of two.
        for count in [1, 5, 9, 100, 4097, 65_535, 9_000_011] as [UInt64] {
            let permutation = FeistelPermutation(count: count, seed: 11 &+ count)
            expectBatchedInverse(of: permutation) { permutation.instances(from: $0, count: $1, into: $2, pending: $3) }
        }
    }

    @Test func theTabulatedInverseEqualsThePointwiseOne() throws {
        // Odd and even network widths (halves of equal and unequal width), batches of every length 0…70.
        for count in [1, 5, 9, 100, 4097, 65_535, 9_000_011, 1 << 28] as [UInt64] {
            let permutation = FeistelPermutation(count: count, seed: 13 &+ count)
            let rounds = try #require(FeistelPermutation.RoundTable(permutation), "count \(count)")
            expectBatchedInverse(of: permutation) { rounds.instances(from: $0, count: $1, into: $2, pending: $3) }
        }
        // Halves wider than 14 bits are not tabulated.
        #expect(FeistelPermutation.RoundTable(FeistelPermutation(count: (1 << 28) + 1, seed: 1)) == nil)
    }

    @Test func packedRowsRoundTripEveryWidthAtItsBounds() {
        let maxima: [UInt32] = [0, 255, 256, 65_535, 65_536, .max, 3, 1 << 31]
        let rows = PackedRows(rows: 5, maxima: maxima)
        #expect(rows.widths == [1, 8, 9, 16, 17, 32, 2, 32])
        #expect(rows.bits == [0, 1, 9, 18, 34, 51, 83, 85])
        #expect(rows.rowBytes == 15 && rows.wordsPerRow == 2)
        #expect(PackedRows.bytes(rows: 5, maxima: maxima) == 5 * 15 + 8)
        #expect(PackedRows.bytes(rows: Int.max / 2, maxima: maxima) == Int.max)
        func value(_ r: Int, _ c: Int) -> UInt32 { r.isMultiple(of: 2) ? maxima[c] : maxima[c] / UInt32(r + 1) }
        let scratch = UnsafeMutablePointer<UInt64>.allocate(capacity: rows.wordsPerRow + 1)
        let copy = UnsafeMutablePointer<UInt64>.allocate(capacity: rows.wordsPerRow + 1)
        defer { scratch.deallocate(); copy.deallocate() }
        // Rows written out of order: a row's store leaves its neighbours' bytes alone.
        for r in [3, 0, 4, 1, 2] {
            let values = maxima.indices.map { value(r, $0) }
            values.withUnsafeBufferPointer { rows.store(r, $0.baseAddress!, scratch: scratch) }
        }
        for r in 0..<5 {
            rows.copyRow(r, to: copy)
            rows.withLayout { columns in
                for c in maxima.indices {
                    #expect(rows.get(r, c) == value(r, c), "row \(r) column \(c)")
                    #expect(columns[c].value(in: UnsafeRawPointer(copy)) == value(r, c), "copied row \(r) column \(c)")
                }
            }
        }
    }

    @Test(
        arguments: [
            [3, 5], [200, 1000, 7], [.max, .max], [.max, .max, 1], [.max, .max, 70_000], [.max, .max, .max, 1 << 23],
            [.max, .max, .max, .max], [.max, .max, .max, .max, 9], [.max, .max, .max, .max, .max, 1],
        ] as [[UInt32]])
    func packedRowsOfEveryByteWidthRoundTripWithoutTouchingTheirNeighbours(maxima: [UInt32]) {
        // Rows of 1, 5, 8, 9, 10, 15, 16, 17 and 21 bytes: below, at the edges of, inside and above the
        // two-register store's 8…16 bytes.
        let rows = PackedRows(rows: 7, maxima: maxima)
        // Values differ from column to column (a store that mixed two columns up would show).
        func value(_ r: Int, _ c: Int) -> UInt32 { r == 3 ? maxima[c] : maxima[c] / UInt32(r + 2 + 3 * c) &+ UInt32((r + c) & 1) }
        let scratch = UnsafeMutablePointer<UInt64>.allocate(capacity: rows.wordsPerRow + 1)
        defer { scratch.deallocate() }
        for r in [6, 0, 3, 5, 1, 4, 2] {
            let values = maxima.indices.map { min(value(r, $0), maxima[$0]) }
            values.withUnsafeBufferPointer { rows.store(r, $0.baseAddress!, scratch: scratch) }
        }
        for r in 0..<7 {
            for c in maxima.indices { #expect(rows.get(r, c) == min(value(r, c), maxima[c]), "row \(r) column \(c)") }
        }
    }

    @Test func thePairFilterNeverMissesAPairAndRulesOutMostOthers() throws {
        // Keys of 0, 1, 3, 100 and 5,000 values (the last one several cache lines).
        let sizes = [0, 1, 3, 100, 5000]
        let table = PairTable(keyCount: sizes.count) { yield in
            for (key, n) in sizes.enumerated() {
                for i in 0..<n { yield(key, UInt32(i * 7 + key)) }
                if n > 0 { yield(key, UInt32(key)) }  // a duplicate
            }
        }
        let filter = PairFilter(table)
        #expect(!filter.isEmpty)
        var falsePositives = 0
        var absent = 0
        for (key, n) in sizes.enumerated() {
            for i in 0..<n { #expect(filter.mayContain(key: key, value: i * 7 + key), "key \(key) value \(i * 7 + key)") }
            for value in 0..<40_000 where !table.contains(key: key, value: value) {
                absent += 1
                if filter.mayContain(key: key, value: value) { falsePositives += 1 }
            }
        }
        #expect(falsePositives * 20 < absent, "\(falsePositives) of \(absent)")
        #expect(!filter.mayContain(key: 0, value: -1) && !filter.mayContain(key: 0, value: 1 << 40))
        #expect(PairFilter.log2Bits(values: 0) == 6 && PairFilter.log2Bits(values: 4) == 6)
        #expect(PairFilter.log2Bits(values: 5) == 7 && PairFilter.log2Bits(values: 100) == 11)
    }

    @Test func aFilterLargerThanItsTableIsNotBuilt() {
        // 300,000 keys of one value each: 16 bytes of filter a pair against the table's 4.
        let table = PairTable(keyCount: 300_000) { yield in for key in 0..<300_000 { yield(key, 1) } }
        let filter = PairFilter(table)
        #expect(filter.isEmpty)
        #expect(filter.mayContain(key: 5, value: 2))
        let sampler = NegativeSampler(perPositive: 2, seed: 1, pairs: table)
        #expect(sampler.isExcluded(key: 5, value: 1) && !sampler.isExcluded(key: 5, value: 2))
    }

    /// A log whose packed rows take exactly 16 bytes (the widest two-register store: 10 fields and two
    /// negatives in 128 bits) gathers the bytes of the single pass on 1 and 2 threads.
    @Test func rowsOfSixteenPackedBytesGatherTheReferenceBytes() throws {
        let directory = TestSupport.temporaryDirectory()
        // Field sizes: item 2,048 (11 bits, three times with its negatives), five fields of 11 bits and
        // four of 10: 33 + 55 + 40 = 128 bits.
        let sizes = [1500, 2048, 1100, 1200, 1300, 1400, 600, 700, 800, 900]
        var text = "user\titem\tcnt\tdaytime\tweekday\tisweekend\thomework\tcost\tweather\tcountry\tcity\n"
        for row in 0..<2100 {
            let values = sizes.enumerated().map { f, size in "f\(f)v\((row + 7 * f) % size)" }
            text += ([values[0], values[1], "1"] + values[2...]).joined(separator: "\t") + "\n"
        }
        let input = TestSupport.write(text, named: "log.tsv", in: directory)
        let (single, manifest) = try TestSupport.build(definition: "frappe.json", input: input) {
            $0.singlePass = true
            $0.definition.shardRows = 1000
        }
        #expect(manifest.fields.map(\.cardinality) == sizes)
        let maxima = sizes.map { UInt32($0 - 1) } + [UInt32(sizes[1] - 1), UInt32(sizes[1] - 1)]
        #expect(PackedRows(rows: 1, maxima: maxima).rowBytes == 16)
        try GatherBuildTests.expectPartitionedBuilds(of: input, equal: single, partitionBytes: 20_000, shardRows: 1000)
    }

    /// Unsampleable rows make instance ids irregular: the build falls back to the scatter, same bytes.
    @Test func unsampleableRowsFallBackToTheScatterWithTheReferenceBytes() throws {
        let directory = TestSupport.temporaryDirectory()
        var text = "user\titem\tcnt\tdaytime\tweekday\tisweekend\thomework\tcost\tweather\tcountry\tcity\n"
        for row in 0..<600 { text += "\(row % 37)\t\(row % 5 == 0 ? "a" : "i\(row % 23)")\t1\tm\tmon\twd\tu\tfree\tsun\tX\t1\n" }
        // User 99 used every item: unsampleable.
        for item in ["a"] + (0..<23).map({ "i\($0)" }) { text += "99\t\(item)\t1\tm\tmon\twd\tu\tfree\tsun\tX\t1\n" }
        let input = TestSupport.write(text, named: "log.tsv", in: directory)
        let (single, manifest) = try TestSupport.build(definition: "frappe.json", input: input) {
            $0.singlePass = true
            $0.definition.shardRows = 100
        }
        #expect(manifest.counts.unsampleableRows == 24)
        try GatherBuildTests.expectPartitionedBuilds(of: input, equal: single, partitionBytes: 3000, shardRows: 100)
    }

    /// Expects the partitioned builds of `input` (Frappe's definition) on 1 and 2 threads to write the files
    /// of the build in `reference`, byte for byte.
    static func expectPartitionedBuilds(of input: String, equal reference: String, partitionBytes: Int, shardRows: Int) throws {
        let snapshot = TestSupport.snapshot(reference)
        for threads in [1, 2] {
            let (built, _) = try TestSupport.build(definition: "frappe.json", input: input) {
                $0.threads = threads
                $0.partitionBytes = partitionBytes
                $0.definition.shardRows = shardRows
            }
            #expect(PartitionedBuildTests.differences(built, snapshot) == [], "threads \(threads)")
        }
    }
}

/// The column-major shard encoder writes the bytes of the row-major one.
@Suite struct FixedColumnsTests {
    @Test func columnMajorIndicesEncodeToTheBlocksBytes() throws {
        var generator = SplitMix64(seed: 11, stream: 0, index: 0)
        for (rows, fields) in [(0, 3), (1, 1), (257, 4), (3000, 10)] {
            var block = ShardBlock(fieldCount: fields)
            // Spans of 1, 2 and 4 bytes across the fields.
            let spans: [UInt64] = [200, 60_000, 5_000_000, 1]
            for r in 0..<rows {
                let features = (0..<fields).map { f in UInt32(1000 * f) + UInt32(generator.below(spans[f % spans.count])) }
                features.withUnsafeBufferPointer { block.append(label: r.isMultiple(of: 3) ? 1 : -1, features: $0) }
            }
            var columns = [UInt32](repeating: 0, count: rows * fields)
            for r in 0..<rows { for f in 0..<fields { columns[f * rows + r] = block.indices[r * fields + f] } }
            let expected = try ShardCodec.encode(block, level: 3)
            let bytes = try columns.withUnsafeBufferPointer { values in
                try block.labels.withUnsafeBufferPointer { labels in
                    try ShardCodec.encode(
                        FixedColumns(values: values, fieldCount: fields, rows: rows, rowMajor: false), labels: labels, level: 3)
                }
            }
            #expect(bytes == expected, "rows \(rows) fields \(fields)")
            #expect(try ShardCodec.decode(bytes, name: "t") == block)
        }
    }
}

/// The vocabulary's counts live in its table slots: they survive growth, merges and file round trips.
@Suite struct VocabularyCountsTests {
    @Test func countsSurviveGrowthCollisionsAndMerges() throws {
        var vocabulary = Vocabulary()
        // Short values (their own keys), values of exactly 8 bytes, and long ones (hashed), 5,000 distinct:
        // the 16-slot table grows nine times.
        func value(_ i: Int) -> String { i % 3 == 0 ? "\(i)" : i % 3 == 1 ? String(format: "%08d", i) : "value number \(i)" }
        var expected: [Int] = []
        for round in 0..<3 {
            for i in 0..<5000 where round == 0 || i % (round + 1) == 0 {
                var text = value(i)
                let index = text.withUTF8 { vocabulary.encode($0) }
                #expect(index == i)
                if round == 0 { expected.append(1) } else { expected[i] += 1 }
            }
        }
        // A value with a trailing zero byte differs from the short value it extends.
        let withZero: [UInt8] = Array("3".utf8) + [0]
        let zeroIndex = withZero.withUnsafeBufferPointer { vocabulary.encode($0) }
        #expect(zeroIndex == 5000 && vocabulary.index(of: "3") == 3)
        expected.append(1)
        var bytes = Array("value number 2".utf8)
        #expect(bytes.withUnsafeBufferPointer { vocabulary.encode($0, count: 40) } == 2)
        expected[2] += 40
        #expect(vocabulary.count == 5001)
        #expect(vocabulary.counts == expected)
        let reread = try Vocabulary.parse(vocabulary.fileBytes(), file: "v.tsv")
        #expect(reread.counts == expected && reread.count == 5001)
        #expect((0..<5001).allSatisfy { reread.value(at: $0) == vocabulary.value(at: $0) })
        bytes = Array("never seen".utf8)
        #expect(bytes.withUnsafeBufferPointer { vocabulary.index(of: $0) } == nil)
    }
}
