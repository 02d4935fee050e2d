/// Checks a dataset directory byte for byte against its manifest (SPEC §6).
///
/// Every listed file must exist with the recorded size and SHA-256; every shard must also decode (zstd
/// frame checksum) to the recorded row count; any file the manifest does not list is reported as extra.
public enum DatasetVerifier {
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public enum Kind: String, Sendable { case missing, sizeMismatch, checksumMismatch, undecodable, extra }
        public let path: String
        public let kind: Kind
        public let detail: String
        public var description: String { "\(path): \(kind.rawValue) — \(detail)" }
    }

    public struct Report: Sendable {
        public let manifest: DatasetManifest
        public let problems: [Problem]
        public let filesChecked: Int
        public var isValid: Bool { problems.isEmpty }
    }

    public static func verify(directory: String) throws -> Report {
        let (manifest, _) = try DatasetManifest.load(directory: directory)
        var problems: [Problem] = []
        var listed: Set<String> = [
            DatasetManifest.fileName, DatasetManifest.checksumFileName, OutputDirectory.markerName,
        ]

        func check(_ path: String, bytes: Int, sha256: String) -> [UInt8]? {
            listed.insert(path)
            let full = directory + "/" + path
            guard FileSystem.exists(full) else {
                problems.append(Problem(path: path, kind: .missing, detail: "listed in the manifest, not on disk"))
                return nil
            }
            guard let content = try? ReadableFile.readAll(full) else {
                problems.append(Problem(path: path, kind: .missing, detail: "cannot be read"))
                return nil
            }
            if content.count != bytes {
                problems.append(
                    Problem(path: path, kind: .sizeMismatch, detail: "\(content.count) bytes, manifest says \(bytes)"))
                return nil
            }
            let digest = SHA256.hexDigest(of: content)
            if digest != sha256 {
                problems.append(
                    Problem(path: path, kind: .checksumMismatch, detail: "sha256 \(digest), manifest says \(sha256)"))
                return nil
            }
            return content
        }

        for file in manifest.files { _ = check(file.path, bytes: file.bytes, sha256: file.sha256) }
        for shard in manifest.shards {
            guard let content = check(shard.file, bytes: shard.bytes, sha256: shard.sha256) else { continue }
            do {
                let block = try ShardCodec.decode(content, name: shard.file)
                if block.rowCount != shard.rows {
                    problems.append(
                        Problem(
                            path: shard.file, kind: .undecodable,
                            detail: "\(block.rowCount) rows, manifest says \(shard.rows)"))
                }
            } catch {
                problems.append(Problem(path: shard.file, kind: .undecodable, detail: "\(error)"))
            }
        }
        for path in FileSystem.relativeFiles(under: directory) where !listed.contains(path) {
            problems.append(Problem(path: path, kind: .extra, detail: "not listed in the manifest"))
        }
        return Report(manifest: manifest, problems: problems, filesChecked: listed.count)
    }
}
