import Foundation
import NFMFormat

/// Fixed-width `UInt32` records read back once, in append order, as runs of whole records.
protocol RecordSource: AnyObject {
    /// Words per record.
    var recordWidth: Int { get }
    /// Calls `body` with consecutive runs of whole records, in append order; frees memory afterwards.
    func drain(_ body: (UnsafeBufferPointer<UInt32>) throws -> Void) throws
}

extension RecordSpill: RecordSource {}

/// A `RecordSpill` that stores its records bit-packed in `RecordBlock`s: 4,096 records are staged as
/// words, then packed (each column in the bytes its largest value in the block needs) into memory, up to
/// `memoryLimit` bytes of blocks, then into a temporary file. A partition's positives take ≈ 15 bytes a
/// record instead of 44: the 3 M-row synthetic log's stay in memory, and the 10 M-row log's write a
/// quarter as many bytes to the file. Reading back never depends on where the blocks lived.
final class PackedRecordSpill: RecordSource {
    let recordWidth: Int
    private let memoryLimit: Int
    private let path: String
    /// Records not packed yet (`RecordBlock.capacity` of them at most).
    private var staged: UnsafeMutablePointer<UInt32>
    private var stagedWords = 0
    /// Packed blocks in memory: `blockBytes` of `arenaCapacity` (the memory limit plus one block, or
    /// `initialArena` when that is less, reserved untouched: pages cost nothing until written; doubled as
    /// needed up to the limit plus one block).
    private var arena: UnsafeMutableRawPointer
    private var arenaCapacity = 0
    private var blockBytes = 0
    private let columnScratch: UnsafeMutablePointer<UInt32>
    private var file: WritableFile?
    /// The first reservation's cap: a build's scans have limits of tens of MiB (reserved at once), while the
    /// steps of a distributed build, which have no budget, pass terabytes (never reservable at once).
    static let initialArena = 64 << 20

    init(recordWidth: Int, memoryLimit: Int, path: String) {
        self.recordWidth = recordWidth
        self.memoryLimit = max(memoryLimit, RecordBlock.maximumBytes(width: recordWidth))
        self.path = path
        staged = .allocate(capacity: RecordBlock.capacity * recordWidth + RecordBlock.stagingPadding)
        staged.initialize(repeating: 0, count: RecordBlock.capacity * recordWidth + RecordBlock.stagingPadding)
        arena = .allocate(byteCount: 0, alignment: 16)
        columnScratch = .allocate(capacity: recordWidth)
    }

    deinit {
        staged.deallocate()
        arena.deallocate()
        columnScratch.deallocate()
        if file != nil { unlink(path) }
    }

    /// Appends whole records (`words.count` a multiple of `recordWidth`).
    @inline(__always) func append(_ words: UnsafeBufferPointer<UInt32>) throws {
        var from = 0
        let room = RecordBlock.capacity * recordWidth
        while from < words.count {
            let n = min(words.count - from, room - stagedWords)
            (staged + stagedWords).update(from: words.baseAddress! + from, count: n)
            stagedWords += n
            from += n
            if stagedWords == room { try pack() }
        }
    }

    /// Packs the staged records into a block at the end of the arena; spills the arena to the file once it
    /// holds `memoryLimit` bytes.
    private func pack() throws {
        let maximum = RecordBlock.maximumBytes(width: recordWidth)
        if blockBytes + maximum > arenaCapacity {
            let grown = min(memoryLimit + maximum, max(Self.initialArena, 2 * arenaCapacity))
            let capacity = max(blockBytes + maximum, grown)
            let bigger = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
            bigger.copyMemory(from: arena, byteCount: blockBytes)
            arena.deallocate()
            (arena, arenaCapacity) = (bigger, capacity)
        }
        blockBytes += RecordBlock.encode(
            staged, count: stagedWords / recordWidth, width: recordWidth, into: arena + blockBytes,
            columnScratch: columnScratch)
        stagedWords = 0
        if blockBytes >= memoryLimit {
            if file == nil { file = try WritableFile(path: path) }
            try file!.write(UnsafeRawBufferPointer(start: arena, count: blockBytes))
            blockBytes = 0
        }
    }

    /// Calls `body` with consecutive runs of whole records (a block's at a time), in append order: the
    /// file's blocks, the arena's, then the staged records; frees memory afterwards. Throws `.io` for a
    /// damaged block in the file.
    func drain(_ body: (UnsafeBufferPointer<UInt32>) throws -> Void) throws {
        defer {
            arena.deallocate()
            arena = .allocate(byteCount: 0, alignment: 16)
            (arenaCapacity, blockBytes, stagedWords) = (0, 0, 0)
        }
        let decoded = UnsafeMutablePointer<UInt32>.allocate(capacity: RecordBlock.capacity * recordWidth)
        let scratch = UnsafeMutablePointer<UInt32>.allocate(capacity: 2 * recordWidth)
        defer {
            decoded.deallocate()
            scratch.deallocate()
        }
        func decode(_ block: UnsafeRawPointer, _ count: Int) throws {
            RecordBlock.decode(block, count: count, width: recordWidth, into: decoded, columnScratch: scratch)
            try body(UnsafeBufferPointer(start: decoded, count: count * recordWidth))
        }
        if file != nil { try drainFile(decode) }
        var at = 0
        while at < blockBytes {
            guard let (bytes, count) = RecordBlock.measure(arena + at, available: blockBytes - at, width: recordWidth)
            else { throw NFMError(.io, "a packed record block in memory is damaged") }
            try decode(arena + at, count)
            at += bytes
        }
        if stagedWords > 0 { try body(UnsafeBufferPointer(start: staged, count: stagedWords)) }
    }

    /// Reads the spilled blocks back in order (several blocks per read) and passes each to `decode`;
    /// removes the file.
    private func drainFile(_ decode: (UnsafeRawPointer, Int) throws -> Void) throws {
        try file!.close()
        file = nil
        defer { unlink(path) }
        let reader = try ReadableFile(path: path)
        let maximum = RecordBlock.maximumBytes(width: recordWidth)
        // Below glibc's mmap threshold (256 KiB, `returnLargeBlocksToTheSystem`) when a block is small.
        let size = max(2 * maximum, 192 << 10)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
        defer { buffer.deallocate() }
        var (start, end) = (0, 0)
        while true {
            let n = try reader.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[end...]))
            end += n
            while let (bytes, count) = RecordBlock.measure(buffer.baseAddress! + start, available: end - start, width: recordWidth),
                bytes <= end - start
            {
                try decode(buffer.baseAddress! + start, count)
                start += bytes
            }
            if n == 0 { break }
            // Move the partial block to the front, to be completed by the next read.
            buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + start, byteCount: end - start)
            (start, end) = (0, end - start)
        }
        guard start == end else { throw NFMError(.io, "\(path): a packed record block is damaged or cut short") }
    }
}
