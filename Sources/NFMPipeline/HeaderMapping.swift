import NFMFormat

/// Where each definition field sits in the input's records, and how many fields every record must have.
///
/// Built from the header record (names matched byte for byte, in any order, extra columns ignored, a
/// leading UTF-8 byte-order mark skipped) or, for a header-less input, from the definition's `columns`
/// in order. The one mapper of the module: the builder and `RawRowEncoder` both use it, so the same
/// input gets the same error positions from `build` and `predict`.
public struct HeaderMapping: Sendable, Equatable {
    /// 0-based column of each definition field, in the definition's `fields` order.
    public let columnOfField: [Int]
    /// The number of fields every data record must have.
    public let expectedColumns: Int

    /// The mapping of a header-less input: its records hold exactly `columns`, in that order.
    /// Throws `.definition` when a field is not among the columns.
    public init(columns: [String], fields: [String], file: String) throws {
        columnOfField = try fields.map { field in
            guard let column = columns.firstIndex(of: field) else {
                throw NFMError(
                    .definition, "field '\(field)' is not one of the columns \(columns)",
                    at: .init(file: file, field: "fields", value: field))
            }
            return column
        }
        expectedColumns = columns.count
    }

    /// Reads a header record. Every name in `required` must occur exactly once; each of `fields` (a subset
    /// of `required`) is then found by name.
    ///
    /// Throws `.input` at `file:line:column`: for a malformed header (`header: …`), a missing column
    /// (position 1 of the header line) or a duplicated one (the second occurrence, naming the first).
    public init(header row: DelimitedReader.Record, required: [String], fields: [String], file: String) throws {
        if let problem = row.problem {
            throw NFMError(
                .input, file: file, line: problem.line, column: problem.column, "header: " + problem.message)
        }
        let names = (0..<row.fieldCount).map { index in
            HeaderMapping.name(row.field(index), first: index == 0)
        }
        var columnOfName: [String: Int] = [:]
        for (column, name) in names.enumerated() where required.contains(name) {
            if let earlier = columnOfName[name] {
                throw NFMError(
                    .input, file: file, line: row.line(ofField: column), column: row.column(ofField: column),
                    "duplicate header column '\(name)' (also at \(file):\(row.line(ofField: earlier)):"
                        + "\(row.column(ofField: earlier)))")
            }
            columnOfName[name] = column
        }
        for name in required where columnOfName[name] == nil {
            throw NFMError(
                .input, file: file, line: row.line, column: 1,
                "missing header column '\(name)' (the header has \(NFMError.excerpt("\(names)")))")
        }
        columnOfField = try fields.map { field in
            guard let column = columnOfName[field] else {
                throw NFMError(.input, file: file, line: row.line, column: 1, "missing header column '\(field)'")
            }
            return column
        }
        expectedColumns = names.count
    }

    /// The problem of a data record whose field count is not `expectedColumns`, or nil.
    ///
    /// The position is the first byte of the first extra field when there are too many, and the byte
    /// just after the last field (where the missing delimiter belongs) when there are too few.
    @inline(__always)
    public func fieldCountProblem(_ row: DelimitedReader.Record) -> (line: Int, column: Int, message: String)? {
        row.fieldCount == expectedColumns ? nil : countMismatch(row)
    }

    /// `fieldCountProblem` of a record whose field count is not `expectedColumns` (kept out of line: the
    /// per-record check is one comparison).
    private func countMismatch(_ row: DelimitedReader.Record) -> (line: Int, column: Int, message: String) {
        let found = row.fieldCount
        let message = "expected \(expectedColumns) fields, found \(found)"
        if found > expectedColumns {
            return (row.line(ofField: expectedColumns), row.column(ofField: expectedColumns), message)
        }
        guard found > 0 else { return (row.line, 1, message) }
        let last = found - 1
        return (row.line(ofField: last), row.column(ofField: last) + row.field(last).count, message)
    }

    /// A header name as text; the first one without a UTF-8 byte-order mark.
    private static func name(_ bytes: UnsafeBufferPointer<UInt8>, first: Bool) -> String {
        if first, bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF {
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[3...]), as: UTF8.self)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
