import Foundation

/// Finds record boundaries of a quoted delimited text fed in consecutive pieces, following
/// `DelimitedReader`'s quoting rules: a field is quoted when it starts with the quote byte, `""` inside it is
/// one quote, and after its closing quote the rest of the record up to a line feed is one malformed tail.
///
/// A boundary is the offset just after a line feed that ends a record. For each target offset (ascending)
/// the scanner keeps the first boundary at or after it. Between quote bytes nothing but line feeds and
/// delimiters matter, so the scan jumps with `memchr` from quote to quote and looks for a line feed only
/// where a target is pending: O(bytes) with a tiny constant on text without quotes (≈ memchr speed)
/// instead of a branch per byte.
struct QuotedRecordScanner {
    /// Where the scan is: at a field's start, inside an unquoted field, inside a quoted field, just after
    /// a quote inside a quoted field, or in the malformed tail after a closing quote.
    enum State: UInt8 { case fieldStart, unquoted, quoted, quoteInQuoted, tail }

    let quote: UInt8
    let delimiter: UInt8
    let targets: [Int]
    private(set) var state = State.fieldStart
    /// The first boundary at or after each of `targets[0..<next]`, deduplicated.
    private(set) var cuts: [Int] = []
    private var next = 0

    /// A scanner of a text starting at a record boundary, for the ascending `targets`.
    init(quote: UInt8, delimiter: UInt8, targets: [Int]) {
        self.quote = quote
        self.delimiter = delimiter
        self.targets = targets
    }

    /// Scans the next piece of the text, which starts at absolute offset `offset`; `from` skips bytes at
    /// its start (a byte-order mark).
    mutating func scan(_ bytes: UnsafeRawBufferPointer, offset: Int, from start: Int = 0) {
        let n = bytes.count
        var i = start
        while i < n, next < targets.count {
            switch state {
            case .fieldStart, .unquoted: i = unquotedRun(bytes, from: i, offset: offset)
            case .quoted:
                guard let q = find(quote, in: bytes, from: i) else { return }
                state = .quoteInQuoted
                i = q + 1
            case .quoteInQuoted:
                let c = bytes[i]
                if c == quote { state = .quoted } else if c == delimiter { state = .fieldStart }
                else if c == 10 { state = .fieldStart; boundary(offset + i + 1) } else { state = .tail }
                i += 1
            case .tail:
                guard let p = find(10, in: bytes, from: i) else { return }
                state = .fieldStart
                boundary(offset + p + 1)
                i = p + 1
            }
        }
    }

    /// Unquoted text from `i` up to the next quote byte (or the piece's end): every line feed in it ends a
    /// record. Returns where to go on; leaves `state` as the byte before the quote left it, then applies
    /// the quote (it opens a field only at a field's start).
    private mutating func unquotedRun(_ bytes: UnsafeRawBufferPointer, from i: Int, offset: Int) -> Int {
        let end = find(quote, in: bytes, from: i) ?? bytes.count
        var from = i
        while next < targets.count, from < end {
            let wanted = max(from, targets[next] - offset - 1)
            guard wanted < end, let p = find(10, in: bytes, from: wanted, to: end) else { break }
            boundary(offset + p + 1)
            from = p + 1
        }
        if end > i {
            let last = bytes[end - 1]
            state = last == 10 || last == delimiter ? .fieldStart : .unquoted
        }
        guard end < bytes.count else { return end }
        state = state == .fieldStart ? .quoted : .unquoted
        return end + 1
    }

    /// Records `cut` for every pending target at or before it.
    private mutating func boundary(_ cut: Int) {
        guard next < targets.count, cut >= targets[next] else { return }
        cuts.append(cut)
        while next < targets.count, targets[next] <= cut { next += 1 }
    }

    /// The index of the first `byte` in `bytes[from..<to]`, by `memchr`.
    private func find(_ byte: UInt8, in bytes: UnsafeRawBufferPointer, from: Int, to: Int? = nil) -> Int? {
        let to = to ?? bytes.count
        guard from < to, let base = bytes.baseAddress else { return nil }
        guard let hit = memchr(base + from, Int32(byte), to - from) else { return nil }
        return base.distance(to: UnsafeRawPointer(hit))
    }
}
