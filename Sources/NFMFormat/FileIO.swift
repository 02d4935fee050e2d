import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A file opened for sequential reading with POSIX `read(2)`; closed on deinit.
public final class ReadableFile {
    /// The path as given to `init`.
    public let path: String
    private let descriptor: Int32

    /// Opens `path` for reading. Only a regular file is accepted unless `allowStream` is set (raw user
    /// inputs: pipes, `/dev/stdin`, character devices); a directory never is. The open does not block on a
    /// FIFO, so a FIFO in place of a dataset file is an error, not a hang.
    public init(path: String, allowStream: Bool = false) throws {
        self.path = path
        descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        if descriptor < 0 {
            let reason = errno == ENOENT ? "no such file" : "cannot open (\(errnoText()))"
            throw NFMError(.io, reason, at: .init(file: path))
        }
        var info = stat()
        let type = fstat(descriptor, &info) == 0 ? info.st_mode & S_IFMT : 0
        let kind: String? =
            type == S_IFREG ? nil : type == S_IFDIR ? "a directory"
            : allowStream ? nil : type == S_IFIFO ? "a FIFO" : "not a regular file"
        if let kind {
            Glibc.close(descriptor)
            throw NFMError(.io, "is \(kind); expected a regular file", at: .init(file: path))
        }
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) & ~O_NONBLOCK)
    }

    deinit { close(descriptor) }

    /// Takes ownership of `descriptor` (opened with `O_NONBLOCK`), which must be a regular file; otherwise
    /// closes it and throws `refuse(kind)`, kind naming what it is ("FIFO", "directory", …).
    init(regularFileDescriptor: Int32, path: String, refuse: (String) -> any Error) throws {
        self.path = path
        descriptor = regularFileDescriptor
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw FormatError(.io, "\(path): cannot stat (\(errnoText()))") }
        if let kind = Self.nonRegularKind(info.st_mode) { throw refuse(kind) }
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) & ~O_NONBLOCK)
    }

    /// What a file of mode `mode` is, unless it is a regular file.
    static func nonRegularKind(_ mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG: nil
        case S_IFIFO: "FIFO"
        case S_IFCHR: "character device"
        case S_IFBLK: "block device"
        case S_IFDIR: "directory"
        case S_IFSOCK: "socket"
        case S_IFLNK: "symbolic link"
        default: "special file"
        }
    }

    /// Size in bytes from `fstat`.
    public func size() throws -> Int {
        var info = stat()
        if fstat(descriptor, &info) != 0 { throw FormatError(.io, "\(path): cannot stat (\(errnoText()))") }
        return Int(info.st_size)
    }

    /// Reads up to `buffer.count` bytes; returns 0 at end of file.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let n = Glibc.read(descriptor, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw FormatError(.io, "\(path): read failed (\(errnoText()))")
        }
    }

    /// Calls `body` with consecutive chunks of at most `size` bytes until end of file.
    public func forEachChunk(size: Int, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
        defer { buffer.deallocate() }
        while true {
            let n = try read(into: buffer)
            if n == 0 { return }
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
    }

    /// Reads the whole file into memory.
    public static func readAll(_ path: String) throws -> [UInt8] {
        try ReadableFile(path: path).readToEnd()
    }

    /// Reads the whole file. A regular file is read into exactly `size()` bytes (sized by `fstat`, so its
    /// real length bounds the allocation; `.io` if it changes length meanwhile); a stream (pipe, FIFO,
    /// terminal) until end of file.
    public func readToEnd() throws -> [UInt8] {
        var info = stat()
        if fstat(descriptor, &info) != 0 { throw FormatError(.io, "\(path): cannot stat (\(errnoText()))") }
        guard Self.nonRegularKind(info.st_mode) == nil else {
            var bytes = [UInt8]()
            try forEachChunk(size: 1 << 16) { bytes.append(contentsOf: $0) }
            return bytes
        }
        let size = Int(info.st_size)
        var bytes = [UInt8](repeating: 0, count: size)
        var filled = 0
        try bytes.withUnsafeMutableBytes { raw in
            while filled < size {
                let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: raw[filled...]))
                if n == 0 { break }
                filled += n
            }
        }
        var probe: UInt8 = 0
        let extra = filled == size ? try withUnsafeMutableBytes(of: &probe) { try read(into: $0) } : 0
        if filled != size || extra != 0 {
            throw FormatError(.io, "\(path): the file changed size while being read")
        }
        return bytes
    }
}

/// A file written sequentially with POSIX `write(2)`.
public final class WritableFile {
    /// The path as given to `init`.
    public let path: String
    private var descriptor: Int32

    /// Creates or truncates `path`.
    public init(path: String) throws {
        self.path = path
        descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        if descriptor < 0 { throw FormatError(.io, "\(path): cannot create (\(errnoText()))") }
    }

    deinit { if descriptor >= 0 { Glibc.close(descriptor) } }

    /// Writes all of `bytes`, retrying short writes and `EINTR`; throws `.io` on any other error.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw FormatError(.io, "\(path): write failed (\(errnoText()))")
            }
            offset += n
        }
    }

    /// Writes all of `bytes` (see `write(_:)` for a raw buffer).
    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    /// Flushes to stable storage when `sync` is set, then closes.
    public func close(sync: Bool = false) throws {
        guard descriptor >= 0 else { return }
        if sync { fsync(descriptor) }
        let result = Glibc.close(descriptor)
        descriptor = -1
        if result != 0 { throw FormatError(.io, "\(path): close failed (\(errnoText()))") }
    }
}

/// Filesystem helpers shared by the builder, the verifier and the trainer.
public enum FileSystem {
    /// Writes `bytes` to `path` atomically: a temporary sibling is written, synced (`fsync`, unless `sync`
    /// is false), then renamed. Without the sync the file is still whole or absent after a killed process,
    /// but not necessarily after a power loss: what a dataset's data files (shards, vocabularies) need,
    /// whose directory is committed by its manifest (one `fsync` costs milliseconds on a disk).
    public static func writeAtomically(_ bytes: [UInt8], to path: String, sync: Bool = true) throws {
        let temporary = path + ".tmp-\(getpid())"
        do {
            let file = try WritableFile(path: temporary)
            try file.write(bytes)
            try file.close(sync: sync)
            try rename(temporary, to: path)
        } catch {
            unlink(temporary)
            throw error
        }
    }

    /// Renames `from` to `to` with `rename(2)`: atomic within one file system, replacing an existing `to`.
    /// Throws `.io`.
    public static func rename(_ from: String, to: String) throws {
        if Glibc.rename(from, to) != 0 {
            throw FormatError(.io, "cannot rename \(from) to \(to) (\(errnoText()))")
        }
    }

    /// Creates `path` and any missing parents (an existing directory is fine). Throws `.io`.
    public static func createDirectory(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw FormatError(.io, "\(path): cannot create directory (\(error.localizedDescription))")
        }
    }

    /// Whether anything exists at `path` (symlinks followed).
    public static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    /// Whether `path` is a directory (symlinks followed).
    public static func isDirectory(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// Removes `path`, recursively for a directory; errors (e.g. nothing there) are ignored.
    public static func remove(_ path: String) { try? FileManager.default.removeItem(atPath: path) }

    /// Every regular file below `directory`, as sorted paths relative to it.
    public static func relativeFiles(under directory: String) -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return [] }
        var files: [String] = []
        while let item = enumerator.nextObject() as? String {
            if !isDirectory(directory + "/" + item) { files.append(item) }
        }
        return files.sorted()
    }

    /// The size in bytes of the regular file at `path`. Throws `.io` when it cannot be opened.
    public static func fileSize(_ path: String) throws -> Int { try ReadableFile(path: path).size() }

    /// `name` made safe as one path component: characters other than `[A-Za-z0-9._-]` become `_`, and the
    /// result is never empty, `.` or `..` (a manifest `name` of `../../escaped` gives `.._.._escaped`).
    public static func sanitizedComponent(_ name: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        let cleaned = String(name.map { allowed.contains($0) ? $0 : "_" })
        return cleaned.isEmpty || cleaned == "." || cleaned == ".." ? "_" + cleaned : cleaned
    }
}

func errnoText() -> String { String(cString: strerror(errno)) }
