import Foundation
import NFMFormat

/// An append-only sequence of fixed-size `UInt32` records that stays in memory up to `memoryLimit`
/// bytes and moves to a temporary file beyond that. Reading it back never depends on where it lived.
final class RecordSpill {
    let recordWidth: Int
    private let memoryLimit: Int
    private let path: String
    /// Appended to once per record in the builder's hot loops: exempt from run-time exclusivity checks
    /// (only `append` and `drain` touch it, never re-entrantly), as swift-collections does for its
    /// storage. Measured on the Frappe build: 192,407 `swift_beginAccess` calls (15 M instructions).
    @exclusivity(unchecked) private var buffer: [UInt32] = []
    private var file: WritableFile?

    init(recordWidth: Int, memoryLimit: Int, path: String) {
        self.recordWidth = recordWidth
        self.memoryLimit = max(memoryLimit, recordWidth * 4)
        self.path = path
    }

    deinit { if file != nil { unlink(path) } }

    @inline(__always) func append(_ record: UnsafeBufferPointer<UInt32>) throws {
        if buffer.capacity == 0 && memoryLimit < 1 << 40 {
            buffer.reserveCapacity(memoryLimit / 4 + recordWidth)  // never grows past the limit
        }
        buffer.append(contentsOf: record)
        if buffer.count * 4 >= memoryLimit { try spill() }
    }

    private func spill() throws {
        if file == nil { file = try WritableFile(path: path) }
        try buffer.withUnsafeBytes { try file!.write($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Calls `body` with consecutive runs of whole records, in append order; frees memory afterwards.
    func drain(_ body: (UnsafeBufferPointer<UInt32>) throws -> Void) throws {
        if file != nil {
            try spill()
            try file!.close()
            buffer = []
            let reader = try ReadableFile(path: path)
            let chunkRecords = max(1, (4 << 20) / (recordWidth * 4))
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
        } else {
            try buffer.withUnsafeBufferPointer { try body($0) }
            buffer = []
        }
    }
}
