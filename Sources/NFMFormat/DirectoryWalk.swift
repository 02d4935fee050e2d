#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Lists everything below a directory without following symbolic links and without opening any file,
/// so a FIFO, a device or a link leading outside is seen for what it is and never blocks.
enum DirectoryWalk {
    struct Entry: Equatable {
        enum Kind: Equatable { case regular, symbolicLink, special(String) }
        /// Path relative to the walked directory.
        var path: String
        var kind: Kind
    }

    /// Deepest nesting descended into.
    static let maxDepth = 32

    /// Every non-directory entry below `directory` (directories are descended into, up to `maxDepth`),
    /// sorted by path. O(entries).
    static func entries(under directory: String) -> [Entry] {
        var found: [Entry] = []
        walk(directory, prefix: "", depth: 0, into: &found)
        return found.sorted { $0.path < $1.path }
    }

    private static func walk(_ directory: String, prefix: String, depth: Int, into found: inout [Entry]) {
        guard depth < maxDepth, let handle = opendir(directory) else { return }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        for name in names {
            var info = stat()
            guard lstat(directory + "/" + name, &info) == 0 else { continue }
            let path = prefix + name
            switch info.st_mode & S_IFMT {
            case S_IFDIR: walk(directory + "/" + name, prefix: path + "/", depth: depth + 1, into: &found)
            case S_IFREG: found.append(Entry(path: path, kind: .regular))
            case S_IFLNK: found.append(Entry(path: path, kind: .symbolicLink))
            default: found.append(Entry(path: path, kind: .special(ReadableFile.nonRegularKind(info.st_mode) ?? "special file")))
            }
        }
    }
}
