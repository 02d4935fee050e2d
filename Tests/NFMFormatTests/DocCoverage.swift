import Foundation

/// A line scanner that finds the public declarations of Swift source files and whether each has a doc
/// comment (`///` lines or a `/** … */` block) directly above it; attribute lines (`@inlinable`,
/// `@discardableResult`, …) may stand between the comment and the declaration.
///
/// Counted as public: declarations marked `public` or `open` whose enclosing types are all public; the
/// members of a `public extension` and the requirements of a `public protocol` (unless marked `private`,
/// `fileprivate` or `internal`); the `case`s of a public enum. A `public extension` itself needs no comment.
/// Nothing inside a function, accessor or closure body counts. Comments and string literals (including
/// multi-line and interpolated ones) are blanked before the scan, so text in them never counts.
struct DocCoverage {
    /// One public declaration.
    struct Declaration: Equatable {
        /// The source file's path relative to the scanned root.
        var file: String
        /// The 1-based line of the declaration's first token.
        var line: Int
        /// The declaration's first line, trimmed.
        var text: String
        /// Whether a doc comment stands directly above it.
        var documented: Bool
    }

    /// What an open brace opened.
    private enum Scope {
        /// A type or extension body; `exported` when its members can be public, `implicit` when members are
        /// public without a modifier (public extension, public protocol), `publicEnum` for public enums.
        case type(exported: Bool, implicit: Bool, publicEnum: Bool)
        /// A function, accessor, closure or statement body.
        case code
    }

    private static let declarationKeywords: Set<String> = [
        "func", "init", "var", "let", "subscript", "struct", "class", "enum", "protocol", "typealias", "case",
        "actor", "associatedtype", "extension", "macro", "deinit",
    ]
    private static let typeKeywords: Set<String> = ["struct", "class", "enum", "protocol", "extension", "actor"]
    private static let modifiers: Set<String> = [
        "public", "open", "internal", "fileprivate", "private", "package", "final", "static", "class", "mutating",
        "nonmutating", "override", "convenience", "required", "lazy", "weak", "unowned", "indirect", "dynamic",
        "optional", "nonisolated", "isolated", "consuming", "borrowing", "distributed", "prefix", "postfix",
        "infix",
    ]

    /// The declarations of every `.swift` file below `root`, in path then line order.
    static func scan(root: URL) throws -> [Declaration] {
        let files = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)?
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" } ?? []
        var result: [Declaration] = []
        for url in files.sorted(by: { $0.path < $1.path }) {
            let source = try String(contentsOf: url, encoding: .utf8)
            let relative = String(url.path.dropFirst(root.path.count)).trimmingCharacters(in: ["/"])
            result += scan(source: source, file: relative)
        }
        return result
    }

    /// The public declarations of one file's text.
    static func scan(source: String, file: String) -> [Declaration] {
        let raw = source.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let code = blankCommentsAndStrings(raw)
        var scopes: [Scope] = []
        var pendingType: Scope?  // the type scope the next `{` opens, if the last declaration was a type
        var result: [Declaration] = []
        for (index, line) in code.enumerated() {
            let enclosing = scopes.last ?? .type(exported: true, implicit: false, publicEnum: false)
            if case .type(let exported, let implicit, let publicEnum) = enclosing,
                let head = parseHead(line)
            {
                let isPublic = head.explicitPublic ? exported
                    : head.keyword == "case" ? publicEnum && !head.restricted
                    : implicit && !head.restricted && head.keyword != "extension"
                if isPublic && head.keyword != "extension" {
                    result.append(
                        Declaration(
                            file: file, line: index + 1, text: raw[index].trimmingCharacters(in: .whitespaces),
                            documented: hasDocComment(above: index, raw)))
                }
                if typeKeywords.contains(head.keyword) {
                    let memberExported = head.keyword == "extension" ? !head.restricted : isPublic
                    pendingType = .type(
                        exported: memberExported,
                        implicit: memberExported && head.explicitPublic
                            && (head.keyword == "extension" || head.keyword == "protocol"),
                        publicEnum: isPublic && head.keyword == "enum")
                } else {
                    pendingType = nil
                }
            }
            for character in line {
                if character == "{" {
                    if case .code? = scopes.last {
                        scopes.append(.code)
                        continue
                    }
                    scopes.append(pendingType ?? .code)
                    pendingType = nil
                } else if character == "}" {
                    _ = scopes.popLast()
                }
            }
        }
        return result
    }

    /// A declaration's head: its keyword and what its modifiers say about access.
    private struct Head {
        var keyword: String
        var explicitPublic: Bool
        var restricted: Bool
    }

    /// The head of a line that starts a declaration (after attributes and modifiers), else nil.
    private static func parseHead(_ line: String) -> Head? {
        var rest = Substring(line.trimmingCharacters(in: .whitespaces))
        var explicitPublic = false
        var restricted = false
        while let first = rest.first {
            if first == "@" {
                rest = rest.dropFirst()
                rest = rest.drop(while: { $0.isLetter || $0.isNumber || $0 == "_" })
                if rest.first == "(" { rest = dropBalancedParentheses(rest) }
                rest = rest.drop(while: { $0 == " " })
                continue
            }
            let word = String(rest.prefix(while: { $0.isLetter || $0.isNumber || $0 == "_" }))
            guard !word.isEmpty else { return nil }
            rest = rest.dropFirst(word.count)
            if declarationKeywords.contains(word) {
                // `class func` / `class var`: `class` is a modifier there.
                let next = rest.drop(while: { $0 == " " })
                let nextWord = String(next.prefix(while: { $0.isLetter }))
                if word == "class", ["func", "var", "let", "subscript", "override", "final", "static"]
                    .contains(nextWord)
                {
                    rest = next
                    continue
                }
                guard rest.isEmpty || !(rest.first!.isLetter || rest.first!.isNumber || rest.first == "_") else {
                    return nil
                }
                return Head(keyword: word, explicitPublic: explicitPublic, restricted: restricted)
            }
            guard modifiers.contains(word) else { return nil }
            if rest.hasPrefix("(set)") {
                rest = rest.dropFirst(5)
            } else if word == "public" || word == "open" {
                explicitPublic = true
            } else if ["private", "fileprivate", "internal", "package"].contains(word) {
                restricted = true
            }
            rest = rest.drop(while: { $0 == " " })
        }
        return nil
    }

    private static func dropBalancedParentheses(_ text: Substring) -> Substring {
        var depth = 0
        for index in text.indices {
            if text[index] == "(" { depth += 1 }
            if text[index] == ")" {
                depth -= 1
                if depth == 0 { return text[text.index(after: index)...] }
            }
        }
        return text[text.endIndex...]
    }

    /// Whether a `///` line or the end of a `/** … */` block stands above line `index`, past attribute lines.
    private static func hasDocComment(above index: Int, _ raw: [String]) -> Bool {
        var above = index - 1
        while above >= 0, raw[above].trimmingCharacters(in: .whitespaces).hasPrefix("@") { above -= 1 }
        guard above >= 0 else { return false }
        let line = raw[above].trimmingCharacters(in: .whitespaces)
        if line.hasPrefix("///") { return true }
        guard line.hasSuffix("*/") else { return false }
        while above >= 0 {
            let text = raw[above].trimmingCharacters(in: .whitespaces)
            if text.hasPrefix("/**") { return true }
            if text.hasPrefix("/*") { return false }
            above -= 1
        }
        return false
    }

    /// The lines with comments and string-literal contents replaced by spaces (quotes and line count kept).
    static func blankCommentsAndStrings(_ lines: [String]) -> [String] {
        enum Mode { case code, blockComment(depth: Int), string(multiline: Bool, hashes: Int) }
        // A stack: string interpolations `\( … )` return to code inside a string.
        var modes: [Mode] = [.code]
        var parenDepths: [Int] = [0]
        var out: [String] = []
        for line in lines {
            let chars = Array(line)
            var result: [Character] = []
            var i = 0
            while i < chars.count {
                let c = chars[i]
                let next: Character? = i + 1 < chars.count ? chars[i + 1] : nil
                switch modes.last! {
                case .code:
                    if c == "/" && next == "/" {
                        i = chars.count
                        continue
                    }
                    if c == "/" && next == "*" {
                        modes.append(.blockComment(depth: 1))
                        i += 2
                        continue
                    }
                    var hashes = 0
                    while i + hashes < chars.count && chars[i + hashes] == "#" { hashes += 1 }
                    if i + hashes < chars.count && chars[i + hashes] == "\"" {
                        let start = i + hashes
                        let multiline = start + 2 < chars.count && chars[start + 1] == "\"" && chars[start + 2] == "\""
                        modes.append(.string(multiline: multiline, hashes: hashes))
                        parenDepths.append(0)
                        result.append("\"")
                        i = start + (multiline ? 3 : 1)
                        continue
                    }
                    if c == "(" { parenDepths[parenDepths.count - 1] += 1 }
                    if c == ")" {
                        if parenDepths.last == 0 && modes.count > 1 {
                            modes.removeLast()  // end of an interpolation: back in the string
                            parenDepths.removeLast()
                            result.append(")")
                            i += 1
                            continue
                        }
                        parenDepths[parenDepths.count - 1] -= 1
                    }
                    result.append(c)
                    i += 1
                case .blockComment(let depth):
                    if c == "*" && next == "/" {
                        modes.removeLast()
                        if depth > 1 { modes.append(.blockComment(depth: depth - 1)) }
                        i += 2
                    } else if c == "/" && next == "*" {
                        modes.removeLast()
                        modes.append(.blockComment(depth: depth + 1))
                        i += 2
                    } else {
                        i += 1
                    }
                case .string(let multiline, let hashes):
                    let escape = "\\" + String(repeating: "#", count: hashes)
                    if c == "\\" && String(chars[i..<min(chars.count, i + escape.count)]) == escape {
                        let after = i + escape.count
                        if after < chars.count && chars[after] == "(" {
                            modes.append(.code)
                            parenDepths.append(0)
                            i = after + 1
                            continue
                        }
                        i = after + 1
                        continue
                    }
                    let quotes = multiline ? 3 : 1
                    let close = String(repeating: "\"", count: quotes) + String(repeating: "#", count: hashes)
                    if c == "\"" && i + close.count <= chars.count && String(chars[i..<i + close.count]) == close {
                        modes.removeLast()
                        parenDepths.removeLast()
                        result.append("\"")
                        i += close.count
                        continue
                    }
                    i += 1
                }
            }
            // A single-line string cannot span lines; recover from a stray quote.
            if case .string(false, _) = modes.last! {
                modes.removeLast()
                parenDepths.removeLast()
            }
            out.append(String(result))
        }
        return out
    }
}
