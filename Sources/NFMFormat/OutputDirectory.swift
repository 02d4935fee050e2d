import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// An output directory that nfm owns while it writes it: the one overwrite rule of every command.
///
/// A directory may be written when it is absent or empty; with `force` it may also be *replaced* when it
/// carries nfm's marker (`.nfm-owner`, written first by every claim) of the same kind. Never when it is a
/// file, when it was not written by nfm, or when it equals, contains or lies inside one of the command's
/// inputs (compared by real path). While claimed, the directory holds an exclusive `flock`, so a second nfm
/// process writing the same directory fails at once, and SIGINT/SIGTERM remove it (``SignalCleanup``)
/// until ``commit()``.
///
/// ```
/// let out = try OutputDirectory.claim(path, kind: .dataset, force: force, inputs: [input, definition])
/// do { …write…; try manifest.write(to: path); out.commit() } catch { out.abandon(); throw error }
/// ```
public final class OutputDirectory: @unchecked Sendable {
    /// What nfm writes into a directory; `--force` replaces only a directory of the same kind.
    public enum Kind: String, Sendable, Codable {
        /// `dataset` (`nfm build`, `nfm import-libfm`), `run` (`nfm train`), `libfm` (`nfm export-libfm`),
        /// `model` (`nfm export-model`), `experiment` (`nfm experiment`); the raw value is the marker's `kind`.
        case dataset, run, libfm, model, experiment
    }

    private struct Marker: Codable, Equatable {
        var kind: Kind
        var tool = "nfm"
    }

    /// The marker file's name inside an owned directory.
    public static let markerName = ".nfm-owner"

    /// The directory's path as given.
    public let path: String
    /// What is being written.
    public let kind: Kind
    private var descriptor: Int32
    private var cleanupToken: Int?
    private let existedBefore: Bool

    private init(path: String, kind: Kind, descriptor: Int32, existedBefore: Bool) {
        self.path = path
        self.kind = kind
        self.descriptor = descriptor
        self.existedBefore = existedBefore
        cleanupToken = SignalCleanup.shared.register(path)
    }

    deinit { close() }

    /// Checks, without touching anything, that `path` may be written (see the type's rules).
    /// - Throws: ``NFMError`` `.refused` naming the path and the rule.
    public static func check(_ path: String, kind: Kind, force: Bool, inputs: [String]) throws {
        try OutputPaths.refuseOverlap(output: path, inputs: inputs)
        try refuseIfLocked(path)
        do {
            try checkContents(path, kind: kind, force: force)
        } catch {
            // Another nfm may have claimed the directory between the two checks (its marker still a
            // temporary file): then that, not the contents seen mid-claim, is the reason to refuse.
            try refuseIfLocked(path)
            throw error
        }
    }

    /// A directory another nfm holds locked is refused as such, whatever it holds at this instant (its
    /// marker may still be a temporary file).
    private static func refuseIfLocked(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { Glibc.close(fd) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            throw NFMError(.refused, "another nfm process is writing this directory", at: .init(file: path))
        }
        flock(fd, LOCK_UN)
    }

    /// Claims `path`: re-checks it, creates it, locks it, empties it when replacing, writes the marker and
    /// registers it for removal on SIGINT/SIGTERM. Call only after every input and option is validated.
    public static func claim(_ path: String, kind: Kind, force: Bool, inputs: [String]) throws -> OutputDirectory {
        try check(path, kind: kind, force: force, inputs: inputs)
        let existed = FileSystem.exists(path)
        try FileSystem.createDirectory(path)
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else {
            throw NFMError(.io, "cannot open directory (\(errnoText()))", at: .init(file: path))
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            Glibc.close(fd)
            throw NFMError(.refused, "another nfm process is writing this directory", at: .init(file: path))
        }
        do {
            // Another process may have written between the check and the lock: decide again under the lock.
            try checkContents(path, kind: kind, force: force)
            try emptyContents(of: path)
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys  // byte-identical markers, so byte-identical datasets
            let marker = try encoder.encode(Marker(kind: kind))
            try FileSystem.writeAtomically(Array(marker) + [10], to: path + "/" + markerName)
        } catch {
            Glibc.close(fd)
            throw error
        }
        return OutputDirectory(path: path, kind: kind, descriptor: fd, existedBefore: existed)
    }

    /// The output is complete: it is no longer removed on signals. The lock is kept until ``close()``.
    public func commit() {
        if let token = cleanupToken { SignalCleanup.shared.unregister(token) }
        cleanupToken = nil
    }

    /// Removes the partial output: the whole directory when this claim created it, its contents otherwise.
    public func abandon() {
        commit()
        if existedBefore {
            try? Self.emptyContents(of: path)
        } else {
            FileSystem.remove(path)
        }
        close()
    }

    /// Releases the lock.
    public func close() {
        guard descriptor >= 0 else { return }
        Glibc.close(descriptor)
        descriptor = -1
    }

    /// The directory's kind according to its marker, or `nil` when it has none (not written by nfm).
    public static func ownerKind(of path: String) -> Kind? {
        guard let bytes = try? ReadableFile.readAll(path + "/" + markerName),
            let marker = try? JSONDecoder().decode(Marker.self, from: Data(bytes)), marker.tool == "nfm"
        else { return nil }
        return marker.kind
    }

    private static func checkContents(_ path: String, kind: Kind, force: Bool) throws {
        guard FileSystem.exists(path) else { return }
        guard FileSystem.isDirectory(path) else {
            throw NFMError(.refused, "exists and is not a directory", at: .init(file: path))
        }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        guard !entries.isEmpty else { return }
        guard let owner = ownerKind(of: path) else {
            throw NFMError(
                .refused,
                "directory is not empty and was not written by nfm; nfm replaces only directories it wrote"
                    + " (remove it yourself or choose another output)",
                at: .init(file: path))
        }
        guard owner == kind else {
            throw NFMError(
                .refused, "holds an nfm \(owner.rawValue), not a \(kind.rawValue); choose another output",
                at: .init(file: path))
        }
        guard force else {
            throw NFMError(.refused, "exists (an nfm \(kind.rawValue)); use --force to replace it", at: .init(file: path))
        }
    }

    /// Removes every entry of `path`, the manifest first so that a dataset stops verifying before anything
    /// else changes.
    private static func emptyContents(of path: String) throws {
        unlink(path + "/" + DatasetManifest.checksumFileName)
        unlink(path + "/" + DatasetManifest.fileName)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        for entry in entries { FileSystem.remove(path + "/" + entry) }
    }
}
