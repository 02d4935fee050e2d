import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Real paths, and the rule that an output never equals, contains or lies inside an input.
public enum OutputPaths {
    /// The canonical absolute path of `path`; for a path that does not exist yet, the real path of its
    /// deepest existing ancestor followed by the remaining components.
    public static func realPath(_ path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var head = absolute
        var tail: [String] = []
        while true {
            if let resolved = realpath(head, nil) {
                defer { free(resolved) }
                let base = String(cString: resolved)
                return tail.isEmpty ? base : (base == "/" ? "" : base) + "/" + tail.reversed().joined(separator: "/")
            }
            guard let slash = head.lastIndex(of: "/"), head != "/" else { return absolute }
            tail.append(String(head[head.index(after: slash)...]))
            head = slash == head.startIndex ? "/" : String(head[..<slash])
        }
    }

    /// Throws `.refused` when `output` equals one of `inputs`, contains one, or lies inside one.
    public static func refuseOverlap(output: String, inputs: [String]) throws {
        let out = realPath(output)
        for input in inputs where !input.isEmpty && input != "-" {
            let source = realPath(input)
            let relation: String? =
                source == out ? "is the input" : source.hasPrefix(out + "/") ? "contains the input"
                : out.hasPrefix(source + "/") ? "lies inside the input" : nil
            if let relation {
                throw NFMError(.refused, "the output \(relation) \(input); choose another output", at: .init(file: output))
            }
        }
    }
}

/// The overwrite rule for single output files.
public enum OutputFile {
    /// Refuses (`.refused`) when `path` exists and `force` is false, exists and is not a regular file, or
    /// equals, contains or lies inside one of `inputs` (by real path). Touches nothing.
    public static func check(_ path: String, force: Bool, inputs: [String]) throws {
        try OutputPaths.refuseOverlap(output: path, inputs: inputs)
        var info = stat()
        guard stat(path, &info) == 0 else { return }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw NFMError(.refused, "exists and is not a regular file", at: .init(file: path))
        }
        guard force else { throw NFMError(.refused, "exists; use --force to overwrite it", at: .init(file: path)) }
    }
}

/// A file written under a temporary sibling name and renamed into place on ``commit()``, so that its path
/// never holds a half-written file; an existing file is replaced only with `force`.
///
/// Until committed, the temporary file is removed by ``abort()``, on deinit, and on SIGINT/SIGTERM.
/// Writes are buffered (64 KiB).
public final class AtomicFileWriter {
    /// The final path.
    public let path: String
    private let temporary: String
    private let force: Bool
    private var file: WritableFile?
    private var buffer: [UInt8] = []
    private var cleanupToken: Int?

    /// Checks the output rule (``OutputFile/check(_:force:inputs:)``) and creates the temporary file.
    public init(path: String, force: Bool, inputs: [String]) throws {
        try OutputFile.check(path, force: force, inputs: inputs)
        self.path = path
        self.force = force
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]) } ?? "."
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        temporary = (directory.isEmpty ? "" : directory + "/") + ".\(base).tmp-\(getpid())"
        cleanupToken = SignalCleanup.shared.register(temporary)
        file = try WritableFile(path: temporary)
        buffer.reserveCapacity(1 << 16)
    }

    deinit { abort() }

    /// Appends bytes.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 16 { try flush() }
    }

    /// Appends bytes.
    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    /// Appends the UTF-8 bytes of `text`.
    public func write(_ text: String) throws { try write(Array(text.utf8)) }

    private func flush() throws {
        guard let file else { throw NFMError(.io, "write after commit or abort", at: .init(file: path)) }
        try file.write(buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes, syncs and renames the temporary file over ``path``; without `force` it fails rather than
    /// replace a file that appeared meanwhile.
    public func commit() throws {
        try flush()
        try file?.close(sync: true)
        file = nil
        if force {
            try FileSystem.rename(temporary, to: path)
        } else if link(temporary, path) != 0 {
            let exists = errno == EEXIST
            let reason = exists ? "appeared while writing; use --force to overwrite it" : errnoText()
            abort()
            throw NFMError(exists ? .refused : .io, "cannot create (\(reason))", at: .init(file: path))
        } else {
            unlink(temporary)
        }
        if let token = cleanupToken { SignalCleanup.shared.unregister(token) }
        cleanupToken = nil
    }

    /// Discards the temporary file (nothing happens after a commit).
    public func abort() {
        guard let token = cleanupToken else { return }
        try? file?.close()
        file = nil
        unlink(temporary)
        SignalCleanup.shared.unregister(token)
        cleanupToken = nil
    }
}
