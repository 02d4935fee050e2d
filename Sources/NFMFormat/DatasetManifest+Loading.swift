import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A manifest as read from a dataset directory, with every integrity problem found in it.
public struct LoadedManifest: Sendable {
    /// The decoded manifest; trust it only when `problems` is empty.
    public var manifest: DatasetManifest
    /// SHA-256 of `manifest.json`'s bytes.
    public var sha256: String
    /// `.manifest` errors: a missing or mismatching `manifest.sha256`, then `consistencyProblems`.
    public var problems: [NFMError]
}

extension DatasetManifest {
    /// Loads the manifest of `directory` and refuses it unless it can be trusted: `manifest.json` and
    /// `manifest.sha256` are regular files (no symlink, FIFO or device), the digest matches, and the
    /// manifest is consistent (`consistencyProblems`). Throws `.io` for a missing directory, `.manifest`
    /// (exit 4) otherwise.
    public static func load(directory: String) throws -> (manifest: DatasetManifest, sha256: String) {
        let loaded = try read(directory: directory)
        if let first = loaded.problems.first {
            let more = loaded.problems.count > 1 ? " (and \(loaded.problems.count - 1) more problems; run nfm verify)" : ""
            throw NFMError(first.code, first.message + more, at: first.position)
        }
        return (loaded.manifest, loaded.sha256)
    }

    /// Reads `manifest.json` of `directory` and lists its integrity problems instead of throwing on the
    /// first; throws only when there is no manifest to read (`.io` for a missing directory, `.manifest`
    /// for a missing, unsafe or undecodable `manifest.json`).
    public static func read(directory: String) throws -> LoadedManifest {
        var info = stat()
        guard stat(directory, &info) == 0 else {
            let what = errno == ENOENT ? "no such directory" : "cannot access (\(errnoText()))"
            throw NFMError(.io, what, at: .init(file: directory))
        }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw NFMError(.io, "not a directory (a dataset is a directory written by nfm build)", at: .init(file: directory))
        }
        let path = directory + "/" + fileName
        let bytes: [UInt8]
        switch ManifestPath.openConfined(fileName, in: directory) {
        case .success(let file): bytes = try file.readToEnd()
        case .failure(.missing):
            throw NFMError(.manifest, "missing (not a dataset directory, or an unfinished build)", at: .init(file: path))
        case .failure(let failure):
            throw NFMError(failure.isIO ? .io : .manifest, failure.words, at: .init(file: path))
        }
        let sha256 = SHA256.hexDigest(of: bytes)
        var problems: [NFMError] = []
        if let problem = digestProblem(directory: directory, actual: sha256) { problems.append(problem) }
        let manifest: DatasetManifest
        do { manifest = try decode(bytes, file: path) } catch let error as NFMError {
            guard let checksum = problems.first else { throw error }
            throw NFMError(error.code, error.message + "; \(checksumFileName): " + checksum.message, at: error.position)
        }
        problems += manifest.consistencyProblems(file: path)
        return LoadedManifest(manifest: manifest, sha256: sha256, problems: problems)
    }

    /// Decodes the bytes of a manifest file called `file` and checks its format name and version.
    /// Throws `.manifest`; never traps. O(bytes).
    public static func decode(_ bytes: [UInt8], file: String) throws -> DatasetManifest {
        let manifest: DatasetManifest
        do {
            manifest = try JSONDecoder().decode(DatasetManifest.self, from: Data(bytes))
        } catch {
            throw NFMError(.manifest, "not a valid manifest (\(NFMError.excerpt("\(error)")))", at: .init(file: file))
        }
        guard manifest.format == currentFormat, manifest.formatVersion == currentVersion else {
            throw NFMError(
                .manifest, "this build reads \(currentFormat) version \(currentVersion)",
                at: .init(file: file, field: "format", value: NFMError.excerpt("\(manifest.format) v\(manifest.formatVersion)")))
        }
        return manifest
    }

    /// The line `manifest.sha256` holds for a manifest whose bytes have digest `sha256`.
    public static func digestLine(_ sha256: String) -> String { "\(sha256)  \(fileName)\n" }

    /// Checks `manifest.sha256` against `actual`; nil when it matches.
    private static func digestProblem(directory: String, actual: String) -> NFMError? {
        let path = directory + "/" + checksumFileName
        let text: [UInt8]
        switch ManifestPath.openConfined(checksumFileName, in: directory) {
        case .success(let file):
            guard let bytes = try? file.readToEnd() else {
                return NFMError(.manifest, "cannot be read", at: .init(file: path))
            }
            text = bytes
        case .failure(.missing):
            return NFMError(
                .manifest, "missing: the manifest has no checksum (an unfinished build, or written by an older nfm)",
                at: .init(file: path))
        case .failure(let failure):
            return NFMError(.manifest, failure.words, at: .init(file: path))
        }
        let line = String(decoding: text.prefix(200), as: UTF8.self)
        guard text.count <= 200, line == digestLine(String(line.prefix(64))) || line + "\n" == digestLine(String(line.prefix(64))),
            isDigest(String(line.prefix(64)))
        else {
            return NFMError(
                .manifest, "expected one line `<sha256>  manifest.json`", at: .init(file: path, value: NFMError.excerpt(line)))
        }
        let stored = String(line.prefix(64))
        guard stored == actual else {
            return NFMError(
                .manifest, "checksum mismatch: manifest.json has sha256 \(actual) (edited or damaged after the build)",
                at: .init(file: path, field: "sha256", value: stored))
        }
        return nil
    }
}

extension ManifestPath.Failure {
    /// Whether the failure is an I/O error rather than an integrity problem.
    var isIO: Bool {
        if case .io = self { return true }
        return false
    }
}
