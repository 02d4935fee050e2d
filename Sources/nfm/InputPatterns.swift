import Foundation
import NFMFormat

#if canImport(Glibc)
    import Glibc
#endif

/// The `--input` values of `nfm build`, with glob patterns expanded.
enum InputPatterns {
    /// The inputs in the order given; a value holding `*`, `?` or `[` that is not itself an existing path
    /// is a glob(3) pattern replaced by its matches in byte order. `-` and other values pass unchanged
    /// (a missing literal path is then the builder's `.io` "no such file" error).
    ///
    /// Throws `.usage` when no `--input` is given or a pattern matches nothing.
    static func expand(_ values: [String]) throws -> [String] {
        guard !values.isEmpty else { throw NFMError(.usage, "missing --input: the raw log to build from") }
        var paths: [String] = []
        for value in values {
            guard isPattern(value), !FileManager.default.fileExists(atPath: value) else {
                paths.append(value)
                continue
            }
            let matches = glob(value)
            guard !matches.isEmpty else {
                throw NFMError(.usage, "the pattern matches no file", at: .init(field: "--input", value: value))
            }
            paths += matches
        }
        return paths
    }

    /// Whether `value` holds a glob metacharacter.
    static func isPattern(_ value: String) -> Bool { value.contains { $0 == "*" || $0 == "?" || $0 == "[" } }

    /// The paths matching `pattern`, sorted by their bytes (independent of the locale).
    static func glob(_ pattern: String) -> [String] {
        var result = glob_t()
        defer { globfree(&result) }
        guard Glibc.glob(pattern, 0, nil, &result) == 0 else { return [] }
        let paths = (0..<Int(result.gl_pathc)).compactMap { index in
            result.gl_pathv[index].map { String(cString: $0) }
        }
        return paths.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }
}
