#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A path written in a manifest (`shards[].file`, `files[].path`, `fields[].vocabulary`), confined to the
/// dataset directory.
///
/// The text must be relative and normalised: not empty, at most 4,096 bytes, no leading `/`, no empty,
/// `.` or `..` component, no backslash, no NUL or other control byte. On disk it must resolve to a
/// regular file inside the directory with no symlink on the way: every directory component is opened
/// with `O_DIRECTORY | O_NOFOLLOW` relative to its parent (`openat`), the file with `O_NOFOLLOW |
/// O_NONBLOCK`, and `fstat` must report a regular file, so a FIFO or a device never blocks a reader and a
/// symlink swapped in after the check is refused too.
public enum ManifestPath {
    /// Longest path text accepted.
    public static let maxLength = 4096
    /// File names nfm writes next to the manifest; never listed in it.
    public static let reservedNames: Set<String> = ["manifest.json", "manifest.sha256", ".nfm-owner"]

    /// Why the text of `path` is not a confined relative path, or nil when it is one.
    public static func problem(_ path: String) -> String? {
        let bytes = Array(path.utf8)
        if bytes.isEmpty { return "an empty path" }
        if bytes.count > maxLength { return "a path longer than \(maxLength) bytes" }
        if bytes.first == UInt8(ascii: "/") { return "an absolute path (paths are relative to the dataset directory)" }
        if bytes.contains(UInt8(ascii: "\\")) { return "a backslash in a path" }
        if bytes.contains(where: { $0 < 0x20 || $0 == 0x7F }) { return "a control character in a path" }
        for component in bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            switch component.count {
            case 0: return "an empty path component (`//` or a trailing `/`)"
            case 1 where component.first == UInt8(ascii: "."): return "a `.` component"
            case 2 where component.elementsEqual("..".utf8): return "a `..` component (paths stay inside the dataset)"
            case 256...: return "a path component longer than 255 bytes"
            default: continue
            }
        }
        return nil
    }

    /// Why a confined open failed.
    public enum Failure: Error, Sendable, Equatable {
        /// `unsafeText` the text is not confined (`problem(_:)`'s reason); `symbolicLink` a component or the file
        /// is a symlink; `notDirectory` a directory component is not one; `missing` nothing there; `notRegular`
        /// a FIFO, device, socket or directory (its kind); `io` any other open error (`strerror` text).
        case unsafeText(String), symbolicLink, notDirectory, missing, notRegular(String), io(String)

        /// The failure in words ("a symbolic link (…)", "a FIFO, not a regular file", …).
        public var words: String {
            switch self {
            case .unsafeText(let problem): "unsafe path: \(problem)"
            case .symbolicLink: "unsafe path: a symbolic link (links may lead outside the dataset)"
            case .notDirectory: "unsafe path: a component is not a directory (or is a symbolic link)"
            case .missing: "listed in the manifest, missing on disk"
            case .notRegular(let kind): "not a regular file: a \(kind)"
            case .io(let text): "cannot open (\(text))"
            }
        }
    }

    /// Opens `path` (the value of manifest field `field`) inside `directory` for reading.
    ///
    /// Throws `.manifest` naming the file, the field and the value when the text is not confined, a
    /// component is a symlink or not a directory, the file is missing, or it is not a regular file
    /// (`.io` for other open errors such as a permission).
    public static func open(_ path: String, in directory: String, field: String) throws -> ReadableFile {
        switch openConfined(path, in: directory) {
        case .success(let file): return file
        case .failure(let failure):
            let position = NFMError.Position(
                file: directory + "/" + DatasetManifest.fileName, field: field, value: NFMError.excerpt(path))
            if case .io = failure { throw NFMError(.io, failure.words, at: position) }
            throw NFMError(.manifest, failure.words, at: position)
        }
    }

    /// Opens `path` inside `directory` without following any symlink and only if it is a regular file.
    public static func openConfined(_ path: String, in directory: String) -> Result<ReadableFile, Failure> {
        if let problem = problem(path) { return .failure(.unsafeText(problem)) }
        let components = path.split(separator: "/").map(String.init)
        var parent = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if parent < 0 { return .failure(errno == ENOENT ? .missing : .io("the dataset directory: " + errnoText())) }
        for component in components.dropLast() {
            let child = openat(parent, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            let code = errno
            Glibc.close(parent)
            guard child >= 0 else { return .failure(failure(code)) }
            parent = child
        }
        let descriptor = openat(parent, components[components.count - 1], O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        let code = errno
        Glibc.close(parent)
        guard descriptor >= 0 else { return .failure(failure(code)) }
        do {
            return .success(
                try ReadableFile(regularFileDescriptor: descriptor, path: directory + "/" + path) { Failure.notRegular($0) })
        } catch let failure as Failure {
            return .failure(failure)
        } catch {
            return .failure(.io("\(error)"))
        }
    }

    private static func failure(_ code: Int32) -> Failure {
        switch code {
        case ELOOP, EMLINK: .symbolicLink
        case ENOTDIR: .notDirectory
        case ENOENT: .missing
        default: .io(String(cString: strerror(code)))
        }
    }
}
