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

    func add(line: Int, column: Int, reason: String, raw: UnsafeBufferPointer<UInt8>) throws {
        guard enabled else { return }
        if bytes.isEmpty { bytes = Array("line\tcolumn\treason\trecord\n".utf8) }
        bytes += Array("\(line)\t\(column)\t\(reason)\t".utf8)
        Vocabulary.appendEscaped(raw, to: &bytes)
        bytes.append(10)
    }

    /// Writes the file when anything was rejected.
    func finish() throws -> (bytes: Int, sha256: String)? {
        guard enabled, !bytes.isEmpty else { return nil }
        try FileSystem.writeAtomically(bytes, to: path)
        return (bytes.count, SHA256.hexDigest(of: bytes))
    }
}
