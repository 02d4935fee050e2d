import NFMFormat

/// The rejected rows of a `--skip-bad-rows` build: `line<TAB>column<TAB>reason<TAB>record`, the record
/// escaped like vocabulary values so that it stays on one line.
final class RejectLog {
    private let path: String
    private let enabled: Bool
    private var bytes: [UInt8] = []

    init(path: String, enabled: Bool) {
        self.path = path
        self.enabled = enabled
    }

    /// A malformed data row of input `file`: without `--skip-bad-rows` the `.input` error at its position;
    /// with it, a line of the log (its reason prefixed by `file` when `nameFile`, i.e. with several inputs).
    func reject(
        _ row: DelimitedReader.Record, _ problem: (line: Int, column: Int, message: String), file: String, nameFile: Bool
    ) throws {
        guard enabled else {
            throw NFMError(.input, file: file, line: problem.line, column: problem.column, problem.message)
        }
        let reason = nameFile ? file + ": " + problem.message : problem.message
        try add(line: problem.line, column: problem.column, reason: reason, raw: row.raw)
    }

    func add(line: Int, column: Int, reason: String, raw: UnsafeBufferPointer<UInt8>) throws {
        guard enabled else { return }
        if bytes.isEmpty { bytes = Array("line\tcolumn\treason\trecord\n".utf8) }
        bytes += Array("\(line)\t\(column)\t\(reason)\t".utf8)
        Vocabulary.appendEscaped(raw, to: &bytes)
        bytes.append(10)
    }

    /// A line of the log whose record is already escaped.
    func add(line: Int, column: Int, reason: String, escaped: [UInt8]) {
        guard enabled else { return }
        if bytes.isEmpty { bytes = Array("line\tcolumn\treason\trecord\n".utf8) }
        bytes += Array("\(line)\t\(column)\t\(reason)\t".utf8)
        bytes += escaped
        bytes.append(10)
    }

    /// Writes the file when anything was rejected.
    func finish() throws -> (bytes: Int, sha256: String)? {
        guard enabled, !bytes.isEmpty else { return nil }
        try FileSystem.writeAtomically(bytes, to: path, sync: false)  // committed by the manifest, as the shards
        return (bytes.count, SHA256.hexDigest(of: bytes))
    }
}
