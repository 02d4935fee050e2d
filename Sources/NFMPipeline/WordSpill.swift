import Foundation
import NFMFormat

/// An append-only sequence of variable-length `UInt32` records, each stored as its length followed by
/// its words, kept in memory up to `memoryLimit` bytes and moved to a temporary file beyond that.
///
/// The labelled build's rows and position buckets have varying lengths (multi-valued fields, missing
/// numbers), which `RecordSpill`'s fixed-width records cannot hold. Reading back (`forEachRecord`) never
/// depends on where the records lived or on the read chunk size. O(words) time and disk.
final class WordSpill {
    private let memoryLimit: Int
    private let path: String
    /// Appended to once per record in the builder's hot loops; only `append` and the readers touch it,
    /// never re-entrantly (as `RecordSpill.buffer`).
    @exclusivity(unchecked) private var buffer: [UInt32] = []
    private var file: WritableFile?
    /// Records appended so far.
    private(set) var count = 0

    init(memoryLimit: Int, path: String) {
        self.memoryLimit = max(memoryLimit, 1 << 12)
        self.path = path
    }

    deinit { if file != nil { unlink(path) } }

    /// Appends one record (at most 2³² − 1 words).
    @inline(__always) func append(_ record: UnsafeBufferPointer<UInt32>) throws {
        if buffer.capacity == 0 { buffer.reserveCapacity(min(memoryLimit / 4, 1 << 24)) }
        buffer.append(UInt32(truncatingIfNeeded: record.count))
        buffer.append(contentsOf: record)
        count += 1
        if buffer.count * 4 >= memoryLimit { try spill() }
    }

    private func spill() throws {
        if file == nil { file = try WritableFile(path: path) }
        try buffer.withUnsafeBytes { try file!.write($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Calls `body` with each record's words, in append order; the spill stays readable.
    func forEachRecord(_ body: (UnsafeBufferPointer<UInt32>) throws -> Void) throws {
        if file != nil { try spill() }
        if file != nil { try readFile(body) }
        _ = try buffer.withUnsafeBufferPointer { words in try WordSpill.parse(words, body) }
    }

    /// Frees the memory and the temporary file.
    func removeAll() {
        buffer = []
        if file != nil {
            try? file?.close()
            unlink(path)
            file = nil
        }
    }

    /// Calls `body` per whole record in `words` and returns the number of words consumed (a partial
    /// record at the end is left for the next chunk).
    @discardableResult
    private static func parse(_ words: UnsafeBufferPointer<UInt32>, _ body: (UnsafeBufferPointer<UInt32>) throws -> Void)
        throws -> Int
    {
        var start = 0
        while start < words.count {
            let length = Int(words[start])
            guard words.count - start - 1 >= length else { break }
            try body(UnsafeBufferPointer(rebasing: words[(start + 1)..<(start + 1 + length)]))
            start += 1 + length
        }
        return start
    }

    /// Streams the file in 4 MiB chunks, carrying a partial record over to the next chunk (and growing
    /// the chunk for a record longer than it).
    private func readFile(_ body: (UnsafeBufferPointer<UInt32>) throws -> Void) throws {
        let reader = try ReadableFile(path: path)
        var chunk = [UInt32](repeating: 0, count: 1 << 20)
        var filledBytes = 0
        while true {
            if filledBytes == chunk.count * 4 { chunk += [UInt32](repeating: 0, count: chunk.count) }
            let n = try chunk.withUnsafeMutableBytes { raw in
                try reader.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[filledBytes...]))
            }
            guard n > 0 else { break }
            filledBytes += n
            let words = filledBytes / 4
            let used = try chunk.withUnsafeBufferPointer { try WordSpill.parse(UnsafeBufferPointer(rebasing: $0[0..<words]), body) }
            let remaining = filledBytes - used * 4
            chunk.withUnsafeMutableBytes { raw in _ = memmove(raw.baseAddress!, raw.baseAddress! + used * 4, remaining) }
            filledBytes = remaining
        }
        guard filledBytes == 0 else { throw NFMError(.io, "truncated scratch file", at: .init(file: path)) }
    }
}
