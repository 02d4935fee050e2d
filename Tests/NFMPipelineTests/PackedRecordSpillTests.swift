import Foundation
import NFMFormat
import NFMTestSupport
import Testing

@testable import NFMPipeline

/// `RecordBlock` (records packed in whole bytes per column) and `PackedRecordSpill` (blocks in memory, then
/// in a file): every record read back as appended, whatever its columns' widths, the block and batch
/// boundaries and where the blocks lived; a cut spill file is an `.io` error.
@Suite struct PackedRecordSpillTests {
    /// `count` records of `width` words; column `c` takes values below 2^(8·(c mod 5)) (0, 1, 2, 3 and 4
    /// bytes), and every 97th record holds each column's largest value.
    static func records(count: Int, width: Int, seed: UInt64) -> [UInt32] {
        var generator = SplitMix64(seed: seed)
        var words: [UInt32] = []
        for r in 0..<count {
            for c in 0..<width {
                let bits = 8 * (c % 5)
                let largest = bits == 32 ? UInt32.max : UInt32((1 << UInt64(bits)) - 1)
                words.append(r % 97 == 0 ? largest : UInt32(truncatingIfNeeded: generator.next()) & largest)
            }
        }
        return words
    }

    @Test(arguments: [(1, 11), (4096, 11), (300, 16), (300, 17), (50, 1)])
    func blockRoundTrip(count: Int, width: Int) throws {
        var words = Self.records(count: count, width: width, seed: UInt64(count * 100 + width))
        let input = words
        words += [UInt32](repeating: 0xFFFF_FFFF, count: RecordBlock.stagingPadding)
        let out = UnsafeMutableRawPointer.allocate(byteCount: RecordBlock.maximumBytes(width: width), alignment: 16)
        defer { out.deallocate() }
        var scratch = [UInt32](repeating: 0, count: 2 * width)
        let bytes = words.withUnsafeBufferPointer { records in
            scratch.withUnsafeMutableBufferPointer {
                RecordBlock.encode(records.baseAddress!, count: count, width: width, into: out, columnScratch: $0.baseAddress!)
            }
        }
        let widths = (0..<width).map { Int(out.load(fromByteOffset: 4 + $0, as: UInt8.self)) }
        #expect(widths == (0..<width).map { $0 % 5 })
        let measured = try #require(RecordBlock.measure(out, available: bytes, width: width))
        #expect(measured.bytes == bytes && measured.count == count)
        var decoded = [UInt32](repeating: 0, count: count * width)
        decoded.withUnsafeMutableBufferPointer { target in
            scratch.withUnsafeMutableBufferPointer {
                RecordBlock.decode(out, count: count, width: width, into: target.baseAddress!, columnScratch: $0.baseAddress!)
            }
        }
        #expect(decoded == input)
    }

    @Test func badHeadersAreRefused() {
        var block: [UInt8] = [0, 0, 0, 0, 1, 1]
        #expect(block.withUnsafeBytes { RecordBlock.measure($0.baseAddress!, available: 6, width: 2) } == nil)  // no records
        block[0] = 1
        block[5] = 5
        #expect(block.withUnsafeBytes { RecordBlock.measure($0.baseAddress!, available: 6, width: 2) } == nil)  // 5 bytes
        block[5] = 4
        #expect(block.withUnsafeBytes { RecordBlock.measure($0.baseAddress!, available: 5, width: 2) } == nil)  // cut header
        #expect(block.withUnsafeBytes { RecordBlock.measure($0.baseAddress!, available: 6, width: 2) }?.bytes == 19)
    }

    /// Appends `records` in batches of 1…7 records and drains them.
    static func roundTrip(_ records: [UInt32], width: Int, memoryLimit: Int, path: String) throws -> ([UInt32], Bool) {
        let spill = PackedRecordSpill(recordWidth: width, memoryLimit: memoryLimit, path: path)
        var at = 0
        var batch = 1
        while at < records.count {
            let n = min(batch * width, records.count - at)
            try records.withUnsafeBufferPointer { try spill.append(UnsafeBufferPointer(rebasing: $0[at..<at + n])) }
            at += n
            batch = batch % 7 + 1
        }
        let spilled = FileManager.default.fileExists(atPath: path)
        var out: [UInt32] = []
        try spill.drain { chunk in
            #expect(chunk.count % width == 0)
            out += chunk
        }
        #expect(!FileManager.default.fileExists(atPath: path))
        return (out, spilled)
    }

    /// `1 << 41` is the limit of the distributed build's steps, which have no memory budget (the arena is
    /// then reserved in steps, not at once).
    @Test(arguments: [1 << 41, 1 << 30, 1])
    func spillReadsBackWhatWasAppended(memoryLimit: Int) throws {
        let directory = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let width = 11
        // 20 bytes a record: with the smallest limit (one block's largest size, 180 KiB) blocks 1–3 go to the
        // file, 4–5 stay in memory and 123 records stay staged.
        let records = Self.records(count: 5 * RecordBlock.capacity + 123, width: width, seed: 5)
        let (out, spilled) = try Self.roundTrip(records, width: width, memoryLimit: memoryLimit, path: directory + "/spill")
        #expect(out == records)
        #expect(spilled == (memoryLimit < 1 << 30))
        let (none, _) = try Self.roundTrip([], width: width, memoryLimit: 1, path: directory + "/empty")
        #expect(none.isEmpty)
    }

    @Test func cutSpillFileIsAnError() throws {
        let directory = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/spill"
        let width = 3
        let spill = PackedRecordSpill(recordWidth: width, memoryLimit: 1, path: path)
        let records = Self.records(count: 10 * RecordBlock.capacity, width: width, seed: 9)
        try records.withUnsafeBufferPointer { try spill.append($0) }
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(truncate(path, off_t(size - 5)) == 0)
        let error = try #require(throws: NFMError.self) { try spill.drain { _ in } }
        #expect(error.code == .io)
    }
}
