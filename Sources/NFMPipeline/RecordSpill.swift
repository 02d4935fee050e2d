import Foundation
import NFMFormat

/// An append-only sequence of fixed-size `UInt32` records that stays in memory up to `memoryLimit`
/// bytes and moves to a temporary file beyond that. Reading it back never depends on where it lived.
final class RecordSpill {
    let recordWidth: Int
    private let memoryLimit: Int
    private let path: String
    /// Words held in memory: plain memory (appended to once per record in the builder's hot loops, so no
    /// array uniqueness or exclusivity checks), grown by doubling up to the memory limit.
    private var buffer: UnsafeMutablePointer<UInt32>
    private var capacity = 0
    private var count = 0
    private var file: WritableFile?

    init(recordWidth: Int, memoryLimit: Int, path: String) {
        self.recordWidth = recordWidth
        self.memoryLimit = max(memoryLimit, recordWidth * 4)
        self.path = path
        buffer = .allocate(capacity: 0)
    }

    deinit {
        buffer.deallocate()
        if file != nil { unlink(path) }
    }

    /// Appends whole records (`words.count` a multiple of `recordWidth`).
    @inline(__always) func append(_ words: UnsafeBufferPointer<UInt32>) throws {
        if count + words.count > capacity { grow(to: count + words.count) }
        (buffer + count).update(from: words.baseAddress!, count: words.count)
        count += words.count
        if count * 4 >= memoryLimit { try spill() }
    }

    /// Room for `needed` words: the whole memory limit at once when it is below 1 TiB (untouched pages
    /// cost nothing, and nothing is copied), else doubling.
    private func grow(to needed: Int) {
        let limit = memoryLimit / 4 + recordWidth
        let next = max(needed, memoryLimit < 1 << 40 ? limit : max(capacity * 2, 1024))
        let bigger = UnsafeMutablePointer<UInt32>.allocate(capacity: next)
        bigger.update(from: buffer, count: count)
        buffer.deallocate()
        buffer = bigger
        capacity = next
    }

    private func spill() throws {
        if file == nil { file = try WritableFile(path: path) }
        try file!.write(UnsafeRawBufferPointer(start: buffer, count: count * 4))
        count = 0
    }

    /// Calls `body` with consecutive runs of whole records, in append order (the spilled file's, then the
    /// records still in memory); frees memory afterwards.
    func drain(_ body: (UnsafeBufferPointer<UInt32>) throws -> Void) throws {
        defer {
            buffer.deallocate()
            buffer = .allocate(capacity: 0)
            (capacity, count) = (0, 0)
        }
        guard file != nil else {
            try body(UnsafeBufferPointer(start: buffer, count: count))
            return
        }
        // The file holds the earlier records, memory the later ones: the file is read back first and the
        // records still in memory follow as they are (never written out only to be read back).
        try file!.close()
        let reader = try ReadableFile(path: path)
        // Chunks of 192 KiB: below glibc's mmap threshold (256 KiB, `returnLargeBlocksToTheSystem`), so one
        // thread's drains reuse the same heap block instead of faulting in a fresh mapping each time.
        let chunkRecords = max(1, (192 << 10) / (recordWidth * 4))
        var chunk = [UInt32](repeating: 0, count: chunkRecords * recordWidth)
        // The file holds whole records and the chunk is a whole number of records, so every full
        // chunk (and the final partial one) ends on a record boundary.
        var eof = false
        while !eof {
            var filled = 0
            while filled < chunk.count * 4 {
                let n = try chunk.withUnsafeMutableBytes { raw in
                    try reader.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[filled...]))
                }
                if n == 0 {
                    eof = true
                    break
                }
                filled += n
            }
            if filled > 0 {
                try chunk.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[0..<filled / 4])) }
            }
        }
        unlink(path)
        file = nil
        if count > 0 { try body(UnsafeBufferPointer(start: buffer, count: count)) }
    }
}
