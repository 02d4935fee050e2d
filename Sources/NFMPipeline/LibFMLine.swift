import NFMFormat

/// One instance of libFM text: `label index:value index:value …`.
public struct LibFMRow: Sendable, Equatable {
    /// The target (finite).
    public var label: Float = 0
    /// Feature indices, in file order (each ≤ `LibFMLine.maximumIndex`).
    public var indices: [UInt32] = []
    /// Feature values (finite), one per index.
    public var values: [Float] = []
    /// A row of `label` and entries.
    public init(label: Float = 0, indices: [UInt32] = [], values: [Float] = []) {
        self.label = label
        self.indices = indices
        self.values = values
    }
}

/// The parser of one libFM line, and the format's limits.
///
/// Tokens are separated by spaces or tabs; the label and values are decimal floats (`+1`, `-1`, `0.5`,
/// `1e-3`) that must be finite as 32-bit floats; indices are decimal integers without sign.
public enum LibFMLine {
    /// Largest feature index: `featureCount = index + 1` must fit the signed 32-bit tables models use to
    /// address features (2^31 − 1).
    public static let maximumIndex = Int(Int32.max) - 1
    /// Most entries in one row: training pads every row of a batch to the longest row (batch × entries ×
    /// factors floats: 128 × 4,096 × 64 × 4 B = 128 MiB at the defaults).
    public static let maximumEntries = 4096
    /// Most entries in one shard (`rows per shard × entries per row`): a sparse shard being filled takes
    /// 8 bytes an entry, so 2^26 entries keep it at 512 MiB.
    public static let maximumShardEntries = 1 << 26
    /// Longest line accepted, in bytes: 4,096 entries of `2147483646:-1.17549435e-38` need about 110 KB;
    /// the margin lets a row of many short entries be reported by its entry count.
    public static let maximumLineBytes = 1 << 24

    /// Parses a line into `row` (reusing its storage); returns false for a blank line. `file` and `line`
    /// position the errors (`.input`, column = 1-based byte of the offending token).
    public static func parse(
        _ bytes: UnsafeBufferPointer<UInt8>, into row: inout LibFMRow, file: String, line: Int
    ) throws -> Bool {
        row.indices.removeAll(keepingCapacity: true)
        row.values.removeAll(keepingCapacity: true)
        var tokens = TokenCursor(bytes)
        guard let labelToken = tokens.next() else { return false }
        func fail(_ column: Int, _ what: String) -> NFMError {
            NFMError(.input, file: file, line: line, column: column, what)
        }
        guard let label = number(bytes[labelToken]) else {
            throw fail(labelToken.lowerBound + 1, "expected a numeric label, found \(quoted(bytes[labelToken]))")
        }
        guard label.isFinite else {
            throw fail(labelToken.lowerBound + 1, "the label \(quoted(bytes[labelToken])) is not a finite number")
        }
        row.label = label
        while let token = tokens.next() {
            let column = token.lowerBound + 1
            guard row.indices.count < maximumEntries else {
                throw fail(column, "more than \(maximumEntries) entries in one row (the limit)")
            }
            guard let colon = bytes[token].firstIndex(of: UInt8(ascii: ":")) else {
                throw fail(column, "expected 'index:value', found \(quoted(bytes[token]))")
            }
            let index = try parseIndex(bytes[token.lowerBound..<colon], column: column, fail: fail)
            let valueBytes = bytes[(colon + 1)..<token.upperBound]
            guard let value = number(valueBytes) else {
                throw fail(colon + 2, "expected a number after ':', found \(quoted(valueBytes))")
            }
            guard value.isFinite else { throw fail(colon + 2, "the value \(quoted(valueBytes)) is not a finite number") }
            row.indices.append(index)
            row.values.append(value)
        }
        return true
    }

    /// Parses one line of text (the fuzz harness's entry point); nil for a blank line.
    public static func parse(_ text: String, file: String = "<text>", line: Int = 1) throws -> LibFMRow? {
        var row = LibFMRow()
        var bytes = Array(text.utf8)
        let parsed = try bytes.withUnsafeMutableBufferPointer { buffer in
            try parse(UnsafeBufferPointer(buffer), into: &row, file: file, line: line)
        }
        return parsed ? row : nil
    }

    private static func parseIndex(
        _ digits: Slice<UnsafeBufferPointer<UInt8>>, column: Int, fail: (Int, String) -> NFMError
    ) throws -> UInt32 {
        guard !digits.isEmpty, digits.allSatisfy({ (48...57).contains($0) }) else {
            throw fail(column, "expected a non-negative integer index before ':', found \(quoted(digits))")
        }
        var value = 0
        for digit in digits {
            value = value * 10 + Int(digit - 48)
            guard value <= maximumIndex else {
                throw fail(
                    column, "index \(NFMError.excerpt(String(decoding: digits, as: UTF8.self))) is above the limit \(maximumIndex) (2^31 − 2)")
            }
        }
        return UInt32(value)
    }

    /// A decimal float: `1` and `-1` directly, anything else through `Float(_:)` (which also reads `nan`,
    /// `inf` and hex floats; callers reject the non-finite ones). Nil when it is not a number.
    private static func number(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> Float? {
        if bytes.count == 1, bytes.first == UInt8(ascii: "1") { return 1 }
        if bytes.elementsEqual([UInt8(ascii: "-"), UInt8(ascii: "1")]) { return -1 }
        guard !bytes.isEmpty else { return nil }
        return Float(String(decoding: bytes, as: UTF8.self))
    }

    private static func quoted(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> String {
        bytes.isEmpty ? "nothing" : "'\(NFMError.excerpt(String(decoding: bytes, as: UTF8.self), limit: 60))'"
    }
}

/// Splits a line into tokens separated by runs of spaces and tabs.
private struct TokenCursor {
    let bytes: UnsafeBufferPointer<UInt8>
    var offset = 0
    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    mutating func next() -> Range<Int>? {
        while offset < bytes.count, bytes[offset] == 32 || bytes[offset] == 9 { offset += 1 }
        guard offset < bytes.count else { return nil }
        let start = offset
        while offset < bytes.count, bytes[offset] != 32, bytes[offset] != 9 { offset += 1 }
        return start..<offset
    }
}
