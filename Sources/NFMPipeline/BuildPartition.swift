import Foundation
import NFMFormat

/// A record-aligned piece of a build's input sequence: a whole input (compressed, or small enough), or a
/// byte range `[start, end)` of a large plain file that owns the records starting in it.
///
/// Partition `i` is the `i`-th piece in input order, so "partition 0's rows, then partition 1's, …" is the
/// input's row order. Everything a partition's scan needs is here: the input, the range, the column
/// mapping of its rows and whether its first record is the input's header line.
struct BuildPartition: Equatable, Sendable {
    /// Index of the input in the build's input list.
    var input: Int
    /// First byte (a record boundary; 0 for a whole input).
    var start: Int
    /// One past the last byte owned, or nil for "to the end of the input" (a whole or last piece).
    var end: Int?
    /// The mapping of the rows' columns to the definition's fields.
    var mapping: HeaderMapping
    /// Whether the piece starts with the input's header line (skipped, never a data row).
    var skipsHeader: Bool

    /// Whether the piece is a whole input (read through `RawInput`, compressed or not, and hashed there).
    var isWholeInput: Bool { start == 0 && end == nil }
}

extension BuildPartition {
    /// A reader of the partition's records: a whole input through `RawInput` (decompressed and hashed while
    /// read; returned too, for its stored size and SHA-256), a byte range through `FileRangeSource`.
    func openReader(_ inputs: InputSet, bufferSize: Int) throws -> (DelimitedReader, RawInput?) {
        let path = inputs.paths[input]
        let raw: RawInput? = isWholeInput ? try RawInput(path: path) : nil
        let source: any ByteSource = try raw ?? FileRangeSource(path: path, start: start, end: end)
        let reader = try DelimitedReader(
            source: source, name: inputs.names[input], format: inputs.format, bufferSize: bufferSize)
        reader.atFileStart = start == 0
        return (reader, raw)
    }
}

/// Where the records of a plain file start, so that large files can be cut into byte ranges that hold
/// whole records (`BuildPartition`).
///
/// Without a quote byte every record ends at a line feed, so a boundary near any offset is found by
/// seeking there and reading to the next line feed. With quoting, a line feed may lie inside a quoted
/// field: one scan from the file's start follows `DelimitedReader`'s quoting rules (a field is quoted
/// when it starts with the quote byte; `""` inside it is one quote; after its closing quote the rest
/// of the record up to a line feed is one malformed tail) and keeps the first boundary at or after
/// each target offset. O(file) for a quoted format, O(partitions · record) otherwise.
enum RecordBoundaries {
    /// Start offsets (ascending, > 0, < size) of the byte ranges of `path` (`size` bytes) cut about every
    /// `chunk` bytes at record boundaries.
    /// With `assumingNoQuote`, a quoted format is cut as an unquoted one: the same cuts when the file holds
    /// no quote byte (every line feed then ends a record), found in O(partitions · record).
    static func cuts(
        path: String, size: Int, chunk: Int, format: DelimitedReader.Format, assumingNoQuote: Bool = false
    ) throws -> [Int] {
        guard size > chunk, chunk > 0 else { return [] }
        let targets = stride(from: chunk, to: size, by: chunk).map { $0 }
        var cuts: [Int] = []
        if let quote = format.quote, !assumingNoQuote {
            cuts = try quotedCuts(path: path, targets: targets, quote: quote, delimiter: format.delimiter)
        } else {
            let file = try PositionedFile(path: path)
            for target in targets {
                guard let cut = try nextLineStart(file, from: target, size: size) else { break }
                if cut < size && cut > (cuts.last ?? 0) { cuts.append(cut) }
            }
        }
        return cuts
    }

    /// Whether the first 64 KiB of `path` hold the format's quote byte (a file that quotes does so early,
    /// typically: its cuts are then found by the exact scan, not guessed).
    static func startHoldsQuote(path: String, format: DelimitedReader.Format) throws -> Bool {
        guard let quote = format.quote else { return false }
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        let n = try buffer.withUnsafeMutableBytes { try PositionedFile(path: path).read(into: $0, at: 0) }
        return buffer[0..<n].contains(quote)
    }

    /// The first offset ≥ `target` that follows a line feed (the record start there), or nil at the end.
    private static func nextLineStart(_ file: PositionedFile, from target: Int, size: Int) throws -> Int? {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        var offset = target - 1
        while offset < size {
            let n = try buffer.withUnsafeMutableBytes { try file.read(into: $0, at: offset) }
            if n == 0 { return nil }
            if let i = buffer[0..<n].firstIndex(of: 10) { return offset + i + 1 }
            offset += n
        }
        return nil
    }

    /// The quote-aware scan (`QuotedRecordScanner`): the first record start at or after each target.
    private static func quotedCuts(path: String, targets: [Int], quote: UInt8, delimiter: UInt8) throws -> [Int] {
        let file = try ReadableFile(path: path)
        var scanner = QuotedRecordScanner(quote: quote, delimiter: delimiter, targets: targets)
        var offset = 0
        try file.forEachChunk(size: 1 << 20) { chunk in
            let bom = offset == 0 && chunk.count >= 3 && chunk[0] == 0xEF && chunk[1] == 0xBB && chunk[2] == 0xBF
            scanner.scan(chunk, offset: offset, from: bom ? 3 : 0)
            offset += chunk.count
        }
        return scanner.cuts.filter { $0 < offset }
    }
}

/// A regular file read with `pread(2)` at chosen offsets; closed on deinit.
final class PositionedFile {
    let path: String
    private let descriptor: Int32

    /// Opens `path` (a regular file) for reading; `.io` naming it otherwise.
    init(path: String) throws {
        self.path = path
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw NFMError(.io, "cannot open (\(String(cString: strerror(errno))))", at: .init(file: path))
        }
    }

    deinit { close(descriptor) }

    /// The file's size from `fstat`.
    func size() throws -> Int {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw NFMError(.io, "cannot stat", at: .init(file: path)) }
        return Int(info.st_size)
    }

    /// Reads up to `buffer.count` bytes at `offset`; 0 at the end of the file.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws -> Int {
        while true {
            let n = pread(descriptor, buffer.baseAddress, buffer.count, off_t(offset))
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw NFMError(.io, "read failed (\(String(cString: strerror(errno))))", at: .init(file: path))
        }
    }
}

/// The bytes `[start, end)` of a regular file as a `ByteSource` (positioned reads).
final class FileRangeSource: ByteSource {
    private let file: PositionedFile
    private var offset: Int
    private let end: Int

    /// Opens `path` for the range; `end` nil reads to the end of the file.
    init(path: String, start: Int, end: Int?) throws {
        file = try PositionedFile(path: path)
        offset = start
        self.end = try end ?? file.size()
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let wanted = min(buffer.count, end - offset)
        guard wanted > 0 else { return 0 }
        let n = try file.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<wanted]), at: offset)
        offset += n
        return n
    }
}
