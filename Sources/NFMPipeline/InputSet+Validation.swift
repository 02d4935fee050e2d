import Foundation
import NFMFormat

extension InputSet {
    /// Checks a build's input paths before anything is read or written: there is at least one, `-`
    /// (standard input) occurs at most once, every other path is an existing readable non-directory, and
    /// no file is given twice (compared by real path, so `a.tsv` and `./a.tsv` are one file).
    ///
    /// Returns the sum of the sizes when every input is a regular file (nil with a pipe or `-`).
    /// Throws `.io` at the path for a missing, unreadable or directory input, `.usage` otherwise.
    static func checkPaths(_ paths: [String]) throws -> Int? {
        guard !paths.isEmpty else { throw NFMError(.usage, "no input: give the raw log (or several)") }
        let stdinCount = paths.count { $0 == "-" }
        guard stdinCount <= 1 else {
            throw NFMError(.usage, "standard input (-) given \(stdinCount) times; it can be read only once")
        }
        var total: Int? = 0
        var seen: [String: [String]] = [:]
        var order: [String] = []
        for path in paths where path != "-" {
            let size = try regularSize(path)
            if let sum = total, let size, case (let next, false) = sum.addingReportingOverflow(size) {
                total = next
            } else {
                total = nil
            }
            let real = OutputPaths.realPath(path)
            if seen[real] == nil { order.append(real) }
            seen[real, default: []].append(path)
        }
        if let real = order.first(where: { seen[$0]!.count > 1 }), let given = seen[real] {
            throw NFMError(
                .usage,
                "--input given \(given.count) times for the same file (\(given.joined(separator: ", "))); "
                    + "each input is read once", at: .init(file: given[0]))
        }
        return stdinCount == 0 ? total : nil
    }

    /// Stats `path`: its size when it is a regular file, nil for a stream (FIFO, character device).
    /// Throws `.io` at the path when it is missing, a directory or unreadable.
    private static func regularSize(_ path: String) throws -> Int? {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let reason = errno == ENOENT ? "no such file" : "cannot open (\(String(cString: strerror(errno))))"
            throw NFMError(.io, reason, at: .init(file: path))
        }
        let type = info.st_mode & S_IFMT
        guard type != S_IFDIR else {
            throw NFMError(.io, "is a directory; expected the raw log", at: .init(file: path))
        }
        guard access(path, R_OK) == 0 else {
            throw NFMError(.io, "cannot read (\(String(cString: strerror(errno))))", at: .init(file: path))
        }
        return type == S_IFREG ? Int(exactly: info.st_size) : nil
    }

    /// Reads the first record of every input that is a regular file, so that an empty first input, a
    /// malformed or damaged header, or an input that cannot be decompressed is refused before the output
    /// is claimed (a pipe cannot be read twice: there ``forEachRow(_:)`` finds it). Touches no state.
    func checkHeaders() throws {
        struct Stop: Error {}
        for index in paths.indices where paths[index] != "-" && header {
            var info = stat()
            guard stat(paths[index], &info) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
            let reader = try DelimitedReader(
                source: try RawInput(path: paths[index]), name: names[index], format: format, bufferSize: 64 << 10)
            do {
                try reader.forEachRecord { row in
                    _ = try headerMapping(row, input: index)
                    throw Stop()
                }
            } catch is Stop {
                continue
            }
            if index == 0 {
                throw NFMError(.input, file: names[0], line: 1, column: 1, "empty file: expected a header line")
            }
        }
    }
}
