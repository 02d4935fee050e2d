import NFMFormat

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Streaming byte-level reader for delimited text (CSV, TSV) with RFC 4180 quoting.
///
/// - A field that starts with the quote byte is quoted: it ends at the next lone quote, may hold
///   delimiters and line breaks, and `""` inside it stands for one `"`. After the closing quote only a
///   delimiter or the end of the record may follow.
/// - Records end at `\n`; a `\r` before it is dropped. Empty lines are skipped.
/// - Every field is checked to be valid UTF-8.
///
/// Fields are handed out as byte views that are valid only inside the `forEachRecord` callback. The
/// buffer size changes nothing but speed: a record longer than the buffer grows it.
public final class DelimitedReader {
    /// The delimiter byte and the optional quote byte.
    public struct Format: Sendable {
        /// Separates fields.
        public var delimiter: UInt8
        /// Starts and ends a quoted field (nil: no quoting).
        public var quote: UInt8?
        /// A format of `delimiter` and `quote`.
        public init(delimiter: UInt8, quote: UInt8?) {
            self.delimiter = delimiter
            self.quote = quote
        }
    }

    /// One record as handed to the callback.
    public struct Record {
        /// 1-based line on which the record starts.
        public let line: Int
        /// Number of fields.
        public let fieldCount: Int
        /// Set when the record is malformed: where, and what was expected.
        public let problem: (line: Int, column: Int, message: String)?
        let base: UnsafePointer<FieldSpan>
        /// The record's bytes, without its line terminator.
        public let raw: UnsafeBufferPointer<UInt8>

        /// The bytes of field `index` (< `fieldCount`), quotes removed and `""` unescaped; valid only during the
        /// callback.
        @inline(__always) public func field(_ index: Int) -> UnsafeBufferPointer<UInt8> {
            UnsafeBufferPointer(start: base[index].start, count: base[index].count)
        }

        /// 1-based byte column of the field's first byte on its line.
        public func column(ofField index: Int) -> Int { base[index].column }
        /// 1-based line of the field's first byte.
        public func line(ofField index: Int) -> Int { base[index].line }

        /// The field as a string (already checked to be UTF-8).
        public func string(_ index: Int) -> String { String(decoding: field(index), as: UTF8.self) }
    }

    struct FieldSpan {
        var start: UnsafePointer<UInt8>
        var count: Int
        var line: Int
        var column: Int
    }

    /// The path (or name) of the input, as given.
    public let path: String
    /// Delimiter and quote.
    public let format: Format
    private let file: any ByteSource
    private var buffer: UnsafeMutableRawBufferPointer
    private var scratch: UnsafeMutableBufferPointer<UInt8>
    private var spans: UnsafeMutableBufferPointer<FieldSpan>
    private var onBytes: ((UnsafeRawBufferPointer) -> Void)?

    /// The input's last path component, used in messages.
    public var displayName: String { path.split(separator: "/").last.map(String.init) ?? path }
    /// A record (with its quoted line breaks) longer than this is an error instead of unbounded growth.
    public let maximumRecordBytes: Int
    /// False for a source that starts in the middle of a file (a partition's byte range): no byte-order
    /// mark is skipped and no compression magic is looked for there.
    var atFileStart = true
    /// Whether plain records (no quote byte, no carriage return before the line feed) are read 8 bytes at
    /// a time (`parsePlain`); false reads every record byte by byte (tests compare the two).
    var readsPlainRecordsByWord = true
    /// Lines consumed once `forEachRecord` returned: the line the next record would start on, minus 1
    /// (what a reader of the following byte range adds to its line numbers).
    private(set) var linesConsumed = 0

    /// Reads the file at `path`: a regular file or a stream (a pipe, `/dev/stdin`), read once.
    ///
    /// - Parameters:
    ///   - path: the file to read, also the name used in messages.
    ///   - format: the delimiter and quote bytes.
    ///   - bufferSize: initial read buffer (bytes); output never depends on it.
    ///   - maximumRecordBytes: longest record accepted (default 64 MiB); longer ones are an `.input` error.
    ///   - onBytes: sees every byte of the file once, in order (used to hash the input while parsing).
    public convenience init(
        path: String, format: Format, bufferSize: Int = 1 << 20, maximumRecordBytes: Int = 1 << 26,
        onBytes: ((UnsafeRawBufferPointer) -> Void)? = nil
    ) throws {
        try self.init(
            source: ReadableFile(path: path, allowStream: true), name: path, format: format, bufferSize: bufferSize,
            maximumRecordBytes: maximumRecordBytes, onBytes: onBytes)
    }

    /// Reads `source` (e.g. a `RawInput`, which decompresses gzip and zstd); `name` is used in messages.
    public init(
        source: any ByteSource, name: String, format: Format, bufferSize: Int = 1 << 20,
        maximumRecordBytes: Int = 1 << 26, onBytes: ((UnsafeRawBufferPointer) -> Void)? = nil
    ) throws {
        path = name
        self.format = format
        self.maximumRecordBytes = max(maximumRecordBytes, 1)
        file = source
        buffer = .allocate(byteCount: max(bufferSize, 16), alignment: 64)
        scratch = .allocate(capacity: 0)
        spans = .allocate(capacity: 64)
        self.onBytes = onBytes
    }

    deinit {
        buffer.deallocate()
        scratch.deallocate()
        spans.deallocate()
    }

    /// Reads the whole file, calling `body` once per non-empty record.
    ///
    /// A UTF-8 byte-order mark at the start is skipped (columns on line 1 count from after it); a file
    /// that starts with a compression format's magic number is an `.input` error naming the format.
    public func forEachRecord(_ body: (Record) throws -> Void) throws {
        var end = 0  // end of valid data
        var eof = false
        while !eof && end < InputSignature.longestMagic {
            let n = try readMore(at: end)
            if n == 0 { eof = true } else { end += n }
        }
        let head = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[0..<end])
        if atFileStart, let format = InputSignature.compression(of: head) {
            throw NFMError(
                .input, file: displayName, line: 1, column: 1,
                "the file is \(format)-compressed; decompress it first")
        }
        var begin = atFileStart && InputSignature.hasByteOrderMark(head) ? 3 : 0  // first unparsed byte in buffer
        var line = 1
        while true {
            if !eof && (end - begin) < buffer.count / 2 || begin == end && !eof {
                // Compact and refill.
                if begin > 0 {
                    if end > begin {
                        buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + begin, byteCount: end - begin)
                    }
                    end -= begin
                    begin = 0
                }
                if end == buffer.count { grow() }
                let n = try readMore(at: end)
                if n == 0 { eof = true } else { end += n }
            }
            if begin == end && eof {
                linesConsumed = line - 1
                return
            }
            let base = UnsafePointer(buffer.baseAddress!.assumingMemoryBound(to: UInt8.self))
            switch parse(base + begin, base + end, eof: eof, line: line) {
            case .needMore:
                if end - begin > maximumRecordBytes {
                    throw NFMError(
                        .input, file: displayName, line: line, column: 1,
                        "a record longer than \(maximumRecordBytes) bytes (the limit)")
                }
                if end - begin == buffer.count { grow() }
                let moved = end - begin
                if begin > 0 {
                    buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + begin, byteCount: moved)
                    begin = 0
                    end = moved
                }
                if end == buffer.count { grow() }
                let n = try readMore(at: end)
                if n == 0 { eof = true } else { end += n }
            case .empty(let consumed):
                begin += consumed
                line += 1
            case .record(let record, let consumed, let lines):
                try body(record)
                begin += consumed
                line += lines
            }
        }
    }

    private func readMore(at offset: Int) throws -> Int {
        let target = UnsafeMutableRawBufferPointer(rebasing: buffer[offset...])
        let n = try file.read(into: target)
        if n > 0, let onBytes { onBytes(UnsafeRawBufferPointer(rebasing: target[0..<n])) }
        return n
    }

    private func grow() {
        let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: buffer.count * 2, alignment: 64)
        bigger.baseAddress!.copyMemory(from: buffer.baseAddress!, byteCount: buffer.count)
        buffer.deallocate()
        buffer = bigger
    }

    private enum Step {
        case needMore
        case empty(consumed: Int)
        case record(Record, consumed: Int, lines: Int)
    }

    /// Where a quoted field's content that starts at `from` ends: its closing quote (nil when the input
    /// ends first), whether it holds doubled quotes, and the line breaks inside it.
    private struct QuotedScan {
        var closing: UnsafePointer<UInt8>?
        var needsUnescape = false
        var lineBreaks = 0
        var lastLineStart: UnsafePointer<UInt8>?
        var needMore = false
    }

    @inline(__always)
    private static func scanQuoted(
        _ from: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>, quote: UInt8, eof: Bool
    ) -> QuotedScan {
        var scan = QuotedScan()
        var q = from
        while q < end {
            let c = q[0]
            if c == quote {
                if q + 1 < end && q[1] == quote {
                    scan.needsUnescape = true
                    q += 2
                    continue
                }
                if q + 1 == end && !eof { scan.needMore = true }
                scan.closing = q
                return scan
            }
            if c == UInt8(ascii: "\n") {
                scan.lineBreaks += 1
                scan.lastLineStart = q + 1
            }
            q += 1
        }
        return scan
    }

    /// Copies `content ..< closing` to `out` with doubled quotes made single; returns the bytes written.
    @inline(__always)
    private static func unescape(
        _ content: UnsafePointer<UInt8>, _ closing: UnsafePointer<UInt8>, quote: UInt8,
        into out: UnsafeMutablePointer<UInt8>
    ) -> Int {
        var n = 0
        var r = content
        while r < closing {
            out[n] = r[0]
            n += 1
            r += (r[0] == quote) ? 2 : 1
        }
        return n
    }

    /// Parses one record from `start`; `lines` counts the line breaks consumed.
    private func parse(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>, eof: Bool, line: Int) -> Step {
        let newline = UInt8(ascii: "\n")
        let carriageReturn = UInt8(ascii: "\r")
        let delimiter = format.delimiter
        if start[0] == newline { return .empty(consumed: 1) }
        if start[0] == carriageReturn, start + 1 < end, start[1] == newline { return .empty(consumed: 2) }
        if readsPlainRecordsByWord, let plain = parsePlain(start, end, line: line) { return plain }

        var p = start
        var fieldCount = 0
        var currentLine = line
        var lineStart = start
        var problem: (line: Int, column: Int, message: String)?
        var scratchUsed = 0
        let recordLimit = end - start
        if scratch.count < recordLimit {
            scratch.deallocate()
            scratch = .allocate(capacity: recordLimit * 2)
        }
        // Work on locals: stored properties of a class cost a run-time exclusivity check per access.
        let scratch = self.scratch
        var spans = self.spans
        defer { self.spans = spans }

        func addField(_ s: UnsafePointer<UInt8>, _ count: Int, _ fieldLine: Int, _ column: Int) {
            if fieldCount == spans.count {
                let bigger = UnsafeMutableBufferPointer<FieldSpan>.allocate(capacity: spans.count * 2)
                _ = bigger.initialize(fromContentsOf: spans)
                spans.deallocate()
                spans = bigger
            }
            spans[fieldCount] = FieldSpan(start: s, count: count, line: fieldLine, column: column)
            fieldCount += 1
        }

        while true {
            let fieldStart = p
            let fieldLine = currentLine
            let column = fieldStart - lineStart + 1
            if let quote = format.quote, p < end, p[0] == quote {
                // Quoted field.
                let scan = Self.scanQuoted(p + 1, end, quote: quote, eof: eof)
                if scan.needMore { return .needMore }
                let needsUnescape = scan.needsUnescape
                currentLine += scan.lineBreaks
                if let start = scan.lastLineStart { lineStart = start }
                if scan.closing == nil {
                    if !eof { return .needMore }
                    problem = problem ?? (fieldLine, column, "unterminated quoted field (no closing quote before end of file)")
                    addField(fieldStart, end - fieldStart, fieldLine, column)
                    p = end
                } else {
                    let closing = scan.closing!
                    let content = fieldStart + 1
                    if needsUnescape {
                        let out = scratch.baseAddress! + scratchUsed
                        let n = Self.unescape(content, closing, quote: quote, into: out)
                        addField(UnsafePointer(out), n, fieldLine, column)
                        scratchUsed += n
                    } else {
                        addField(content, closing - content, fieldLine, column)
                    }
                    p = closing + 1
                    // After the closing quote: delimiter, end of record, or a malformed tail.
                    if p < end, p[0] != delimiter, p[0] != newline,
                        !(p[0] == carriageReturn && (p + 1 == end || p[1] == newline))
                    {
                        if problem == nil {
                            problem = (currentLine, p - lineStart + 1, "expected a delimiter or end of line after closing quote")
                        }
                        while p < end && p[0] != newline { p += 1 }
                        if p == end && !eof { return .needMore }
                    }
                }
            } else {
                while p < end && p[0] != delimiter && p[0] != newline { p += 1 }
                if p == end && !eof { return .needMore }
                var fieldEnd = p
                if p < end, p[0] == newline, fieldEnd > fieldStart, fieldEnd[-1] == carriageReturn { fieldEnd -= 1 }
                if p == end, fieldEnd > fieldStart, fieldEnd[-1] == carriageReturn { fieldEnd -= 1 }
                addField(fieldStart, fieldEnd - fieldStart, fieldLine, column)
            }
            if p < end && p[0] == delimiter {
                p += 1
                continue
            }
            // End of record: newline or end of file.
            var recordEnd = p
            if recordEnd > start, recordEnd[-1] == carriageReturn { recordEnd -= 1 }
            let consumed = (p < end) ? (p - start + 1) : (p - start)
            let linesConsumed = currentLine - line + (p < end ? 1 : 0)
            if problem == nil && !DelimitedReader.isASCII(start, recordEnd - start) {
                problem = DelimitedReader.validateUTF8(spans, fieldCount: fieldCount)
            }
            let record = Record(
                line: line, fieldCount: fieldCount, problem: problem, base: UnsafePointer(spans.baseAddress!),
                raw: UnsafeBufferPointer(start: start, count: recordEnd - start))
            return .record(record, consumed: consumed, lines: linesConsumed)
        }
    }

    /// The record at `start` when it is plain: it ends at a line feed inside `start ..< end`, holds no quote
    /// byte and does not end with a carriage return; nil otherwise (`parse` then reads it byte by byte, with
    /// the same result for a plain record). Delimiters are found 8 bytes at a time (`zeroBytes` of the
    /// word XOR the delimiter in every byte): one step per word and per field instead of per byte, and no
    /// branch on each byte; the span buffer's capacity is checked once per record, not per field, and the
    /// last word is one load (masked) when the buffer holds 8 bytes there. Records of `plainRecordLimit`
    /// bytes or more are left to `parse`. O(record bytes).
    @inline(__always)
    private func parsePlain(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>, line: Int) -> Step? {
        guard let found = memchr(start, Int32(UInt8(ascii: "\n")), end - start) else { return nil }
        let length = UnsafePointer<UInt8>(found.assumingMemoryBound(to: UInt8.self)) - start
        if length > 0 && start[length - 1] == UInt8(ascii: "\r") { return nil }
        // Longer records go byte by byte: the span buffer grows with their fields there, not with their bytes.
        if length >= DelimitedReader.plainRecordLimit { return nil }
        let everyByte: UInt64 = 0x0101_0101_0101_0101
        let delimiters = everyByte &* UInt64(format.delimiter)
        // Without a quote byte, look for a line feed instead: none lies before `length`.
        let quotes = everyByte &* UInt64(format.quote ?? UInt8(ascii: "\n"))
        // A record of `length` bytes has at most `length + 1` fields: one capacity check per record.
        if spans.count <= length { growSpans(to: length + 1) }
        let out = spans.baseAddress!
        var (fieldCount, fieldStart, offset) = (0, 0, 0)
        var (high, quoted): (UInt64, UInt64) = (0, 0)
        while offset < length {
            let left = length &- offset
            var word: UInt64
            var valid: UInt64 = ~0
            if left >= 8 || end - (start + offset) >= 8 {
                // A whole word, or one that reads past the record into bytes already read (masked off).
                word = UInt64(littleEndian: UnsafeRawPointer(start + offset).loadUnaligned(as: UInt64.self))
            } else {
                word = 0
                withUnsafeMutableBytes(of: &word) { $0.baseAddress!.copyMemory(from: start + offset, byteCount: left) }
                word = UInt64(littleEndian: word)
            }
            if left < 8 {
                valid = (1 &<< UInt64(8 &* left)) &- 1
                word &= valid
            }
            high |= word
            quoted |= DelimitedReader.zeroBytes(word ^ quotes) & valid
            var hits = DelimitedReader.zeroBytes(word ^ delimiters) & valid
            while hits != 0 {
                let at = offset &+ hits.trailingZeroBitCount &>> 3
                out[fieldCount] = FieldSpan(start: start + fieldStart, count: at &- fieldStart, line: line, column: fieldStart &+ 1)
                fieldCount &+= 1
                fieldStart = at &+ 1
                hits &= hits &- 1
            }
            offset &+= 8
        }
        guard quoted == 0 else { return nil }
        out[fieldCount] = FieldSpan(start: start + fieldStart, count: length &- fieldStart, line: line, column: fieldStart &+ 1)
        fieldCount &+= 1
        let problem = high & 0x8080_8080_8080_8080 == 0 ? nil : DelimitedReader.validateUTF8(spans, fieldCount: fieldCount)
        let record = Record(
            line: line, fieldCount: fieldCount, problem: problem, base: UnsafePointer(out),
            raw: UnsafeBufferPointer(start: start, count: length))
        return .record(record, consumed: length + 1, lines: 1)
    }

    /// Bytes of the longest record `parsePlain` reads (a span per possible field: at most 64 K spans, 2 MiB).
    static let plainRecordLimit = 1 << 16

    /// Replaces the span buffer by one of at least `capacity` spans (its contents are not kept: it is
    /// grown before a record is parsed).
    private func growSpans(to capacity: Int) {
        var size = max(spans.count, 1)
        while size < capacity { size *= 2 }
        spans.deallocate()
        spans = .allocate(capacity: size)
    }

    /// 0x80 in every byte of `x` that is zero, 0 in the others (exact: no borrow crosses bytes).
    @inline(__always)
    private static func zeroBytes(_ x: UInt64) -> UInt64 {
        let low: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        return ~(((x & low) &+ low) | x | low)
    }

    /// Stores `span` as field `fieldCount` of `spans` (doubled when full) and counts it.
    @inline(__always)
    private static func append(_ spans: inout UnsafeMutableBufferPointer<FieldSpan>, _ fieldCount: inout Int, _ span: FieldSpan) {
        if fieldCount == spans.count {
            let bigger = UnsafeMutableBufferPointer<FieldSpan>.allocate(capacity: spans.count * 2)
            _ = bigger.initialize(fromContentsOf: spans)
            spans.deallocate()
            spans = bigger
        }
        spans[fieldCount] = span
        fieldCount += 1
    }

    /// Whether the `count` bytes at `start` are all below 0x80 (8 bytes per step): then every field of the
    /// record, which holds only bytes of it, is valid UTF-8.
    @inline(__always)
    private static func isASCII(_ start: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        let raw = UnsafeRawPointer(start)
        var high: UInt64 = 0
        var i = 0
        while i + 8 <= count {
            high |= raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < count {
            high |= UInt64(start[i])
            i += 1
        }
        return high & 0x8080_8080_8080_8080 == 0
    }

    private static func validateUTF8(_ spans: UnsafeMutableBufferPointer<FieldSpan>, fieldCount: Int)
        -> (line: Int, column: Int, message: String)?
    {
        for index in 0..<fieldCount {
            let span = spans[index]
            var high: UInt8 = 0
            for i in 0..<span.count { high |= span.start[i] }
            if high < 0x80 { continue }
            if let offset = UTF8Validation.firstInvalidByte(UnsafeBufferPointer(start: span.start, count: span.count)) {
                return (span.line, span.column + offset, "invalid UTF-8 byte 0x\(String(span.start[offset], radix: 16))")
            }
        }
        return nil
    }
}

/// Minimal UTF-8 validator (RFC 3629: no overlongs, no surrogates, ≤ U+10FFFF).
enum UTF8Validation {
    /// Offset of the first byte that starts an invalid sequence, or nil.
    static func firstInvalidByte(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        var i = 0
        let n = bytes.count
        while i < n {
            let b0 = bytes[i]
            if b0 < 0x80 {
                i += 1
                continue
            }
            var length = 0
            var minimum: UInt32 = 0
            var scalar: UInt32 = 0
            switch b0 {
            case 0xC2...0xDF: length = 2; minimum = 0x80; scalar = UInt32(b0 & 0x1F)
            case 0xE0...0xEF: length = 3; minimum = 0x800; scalar = UInt32(b0 & 0x0F)
            case 0xF0...0xF4: length = 4; minimum = 0x10000; scalar = UInt32(b0 & 0x07)
            default: return i
            }
            guard i + length <= n else { return i }
            for k in 1..<length {
                let b = bytes[i + k]
                guard b & 0xC0 == 0x80 else { return i }
                scalar = scalar << 6 | UInt32(b & 0x3F)
            }
            if scalar < minimum || scalar > 0x10FFFF || (0xD800...0xDFFF).contains(scalar) { return i }
            i += length
        }
        return nil
    }
}
