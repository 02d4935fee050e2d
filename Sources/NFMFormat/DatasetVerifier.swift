#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Checks a dataset directory byte for byte against its manifest (SPEC §6, FOUNDATION §5).
///
/// The manifest must match `manifest.sha256` and be consistent; every listed file must be a regular file
/// inside the directory (no symlink on the way, never a FIFO or device, so verification never blocks)
/// with the recorded size and SHA-256; every shard must decode (zstd frame checksum) to the recorded row
/// count, layout and field count, with every feature index in its field's range; any other file, link or
/// special file in the directory is reported. A path that is not confined is reported and never opened.
public enum DatasetVerifier {
    /// One thing wrong with a dataset directory, found by `verify(directory:)`.
    public struct Problem: Error, Sendable, Equatable, CustomStringConvertible {
        /// What is wrong, in words (the raw value is what `nfm verify` prints).
        public enum Kind: String, Sendable, CaseIterable {
            /// `manifest.json` does not hash to the digest in `manifest.sha256`.
            case manifestChecksum = "manifest checksum mismatch"
            /// The manifest breaks one of its consistency rules (counts, offsets, duplicate paths, …).
            case inconsistentManifest = "inconsistent manifest"
            /// A listed path is not confined to the directory (absolute, `..`, a symlink on the way; never opened),
            /// or a symbolic link lies in the directory.
            case unsafePath = "unsafe path"
            /// A listed path is not a regular file, or a FIFO, device or socket lies in the directory.
            case notRegularFile = "not a regular file"
            /// A listed file does not exist.
            case missing = "missing"
            /// A listed file's size differs from the manifest's.
            case sizeMismatch = "size mismatch"
            /// A listed file's SHA-256 differs from the manifest's.
            case checksumMismatch = "checksum mismatch"
            /// A shard whose bytes match but which does not decode to the recorded rows, layout, field count or
            /// feature ranges.
            case undecodable = "undecodable shard"
            /// A file in the directory that the manifest does not list.
            case extra = "extra file"
        }

        /// Path relative to the dataset directory.
        public let path: String
        /// The kind of problem.
        public let kind: Kind
        /// Details: expected and found values, or the decoder's error.
        public let detail: String
        /// `path: kind — detail`, the line `nfm verify` prints.
        public var description: String { "\(path): \(kind.rawValue) — \(detail)" }

        /// A problem of `kind` at `path`.
        public init(path: String, kind: Kind, detail: String) {
            self.path = path
            self.kind = kind
            self.detail = detail
        }
    }

    /// The outcome of a verification.
    public struct Report: Sendable {
        /// The manifest as read (its problems, if any, are among `problems`).
        public let manifest: DatasetManifest
        /// Every problem found, in the order checked (manifest, listed files, then the directory walk).
        public let problems: [Problem]
        /// Number of files checked: `manifest.json` plus each distinct listed path.
        public let filesChecked: Int
        /// True when no problem was found.
        public var isValid: Bool { problems.isEmpty }
    }

    /// Verifies `directory`. Throws only when there is no manifest to check (`.io` for a missing
    /// directory, `.manifest` for a missing or unreadable `manifest.json`); every other problem is
    /// reported. O(bytes of the dataset).
    public static func verify(directory: String) throws -> Report {
        let loaded = try DatasetManifest.read(directory: directory)
        let manifest = loaded.manifest
        var problems = loaded.problems.map(manifestProblem)
        var listed: Set<String> = ManifestPath.reservedNames
        var checked = 1
        func check(_ path: String, bytes: Int, sha256: String) -> [UInt8]? {
            guard listed.insert(path).inserted else { return nil }  // reported by the consistency check
            checked += 1
            switch content(of: path, in: directory, bytes: bytes, sha256: sha256) {
            case .success(let bytes): return bytes
            case .failure(let problem):
                problems.append(problem)
                return nil
            }
        }
        for file in manifest.files { _ = check(file.path, bytes: file.bytes, sha256: file.sha256) }
        for shard in manifest.shards {
            guard let content = check(shard.file, bytes: shard.bytes, sha256: shard.sha256) else { continue }
            if let problem = decodeProblem(content, shard: shard, manifest: manifest) { problems.append(problem) }
        }
        problems += unlistedProblems(in: directory, listed: listed)
        return Report(manifest: manifest, problems: problems, filesChecked: checked)
    }

    private static func manifestProblem(_ error: NFMError) -> Problem {
        let file = error.position?.file.map { ($0 as String).split(separator: "/").last.map(String.init) ?? $0 }
        let isDigest = file == DatasetManifest.checksumFileName
        var detail = error.message
        if let field = error.position?.field { detail = "field \(field) = \(error.position?.value ?? ""): " + detail }
        return Problem(
            path: file ?? DatasetManifest.fileName, kind: isDigest ? .manifestChecksum : .inconsistentManifest,
            detail: detail)
    }

    /// The bytes of listed file `path` when it is a confined regular file of the recorded size and digest.
    private static func content(of path: String, in directory: String, bytes: Int, sha256: String)
        -> Result<[UInt8], Problem>
    {
        let file: ReadableFile
        switch ManifestPath.openConfined(path, in: directory) {
        case .success(let opened): file = opened
        case .failure(let failure):
            let kind: Problem.Kind =
                switch failure {
                case .missing: .missing
                case .notRegular: .notRegularFile
                case .io: .missing
                default: .unsafePath
                }
            return .failure(Problem(path: path, kind: kind, detail: failure.words))
        }
        guard let size = try? file.size(), size == bytes else {
            let size = (try? file.size()).map(String.init) ?? "?"
            return .failure(Problem(path: path, kind: .sizeMismatch, detail: "\(size) bytes, the manifest says \(bytes)"))
        }
        guard let content = try? file.readToEnd() else {
            return .failure(Problem(path: path, kind: .missing, detail: "cannot be read"))
        }
        let digest = SHA256.hexDigest(of: content)
        guard digest == sha256 else {
            return .failure(Problem(path: path, kind: .checksumMismatch, detail: "sha256 \(digest), the manifest says \(sha256)"))
        }
        return .success(content)
    }

    /// Decodes a shard whose bytes matched the manifest and checks it against the manifest.
    private static func decodeProblem(_ content: [UInt8], shard: DatasetManifest.Shard, manifest: DatasetManifest)
        -> Problem?
    {
        do {
            let block = try ShardCodec.decode(content, name: shard.file)
            if block.rowCount != shard.rows {
                return Problem(path: shard.file, kind: .undecodable, detail: "\(block.rowCount) rows, the manifest says \(shard.rows)")
            }
            if block.layout != manifest.layout || (manifest.layout == .fixed && block.fieldCount != manifest.fields.count) {
                return Problem(
                    path: shard.file, kind: .undecodable,
                    detail: "\(block.layout) layout with \(block.fieldCount) fields, the manifest says \(manifest.layout) with \(manifest.fields.count)")
            }
            if let row = manifest.firstLabelOutOfRange(block) {
                return Problem(path: shard.file, kind: .undecodable, detail: "label \(block.labels[row]) (row \(row)) is outside the manifest's labels")
            }
            if let (entry, index) = manifest.firstIndexOutOfRange(block) {
                return Problem(path: shard.file, kind: .undecodable, detail: "feature index \(index) (entry \(entry)) is outside its field's range")
            }
            return nil
        } catch {
            return Problem(path: shard.file, kind: .undecodable, detail: "\(error)")
        }
    }

    /// Files, links and special files under `directory` that the manifest does not list (a listed symlink or
    /// special file is reported by the listed-file check, which refuses to open it).
    private static func unlistedProblems(in directory: String, listed: Set<String>) -> [Problem] {
        DirectoryWalk.entries(under: directory).compactMap { entry in
            switch entry.kind {
            case .regular:
                return listed.contains(entry.path) ? nil : Problem(path: entry.path, kind: .extra, detail: "not listed in the manifest")
            case .symbolicLink:
                return listed.contains(entry.path) ? nil : Problem(path: entry.path, kind: .unsafePath, detail: "a symbolic link in the dataset directory")
            case .special(let what):
                return listed.contains(entry.path) ? nil : Problem(path: entry.path, kind: .notRegularFile, detail: "a \(what) in the dataset directory")
            }
        }
    }
}
