import NFMFormat

/// A 1-based line and byte column in a text file.
public struct SourceLocation: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// 1-based line.
    public var line: Int
    /// 1-based byte column.
    public var column: Int
    /// A position in a text file.
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }
    /// `LINE:COLUMN`.
    public var description: String { "\(line):\(column)" }
}

/// A JSON value together with where it starts, as read by `StrictJSON`.
struct JSONNode: Sendable, Equatable {
    /// One `"key": value` of an object, in file order.
    struct Member: Sendable, Equatable {
        let key: String
        let keyLocation: SourceLocation
        let value: JSONNode
    }

    enum Value: Sendable, Equatable {
        case object([Member])
        case array([JSONNode])
        case string(String)
        /// The number's literal text (RFC 8259 grammar), converted only by the reader that knows its type.
        case number(String)
        case bool(Bool)
        case null
    }

    let value: Value
    let location: SourceLocation

    /// What the value is, for messages ("an object", "a string" …).
    var kindName: String {
        switch value {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .number: "a number"
        case .bool: "true or false"
        case .null: "null"
        }
    }
}

/// A strict RFC 8259 JSON parser for small configuration files, unlike Foundation's, it refuses
/// duplicate keys (Foundation silently keeps one of them) and names every problem as FILE:LINE:COLUMN.
///
/// Limits: at most `maximumBytes` of input and `maximumDepth` nested arrays/objects (so hostile input
/// cannot exhaust the stack). A leading UTF-8 byte-order mark is skipped. Strings must be valid UTF-8,
/// without raw control characters or unpaired `\u` surrogates. Complexity O(n) in the input size.
struct StrictJSON {
    static let maximumBytes = 1 << 20
    static let maximumDepth = 64

    private let bytes: [UInt8]
    private let file: String
    private var offset = 0
    private var line = 1
    private var lineStart = 0

    private init(bytes: [UInt8], file: String) {
        self.bytes = bytes
        self.file = file
    }

    /// Parses one JSON document; `file` names it in errors (`.definition`, with line and column).
    static func parse(_ bytes: [UInt8], file: String) throws -> JSONNode {
        var parser = StrictJSON(bytes: bytes, file: file)
        guard bytes.count <= maximumBytes else {
            throw parser.error("file is \(bytes.count) bytes; a definition is at most \(maximumBytes) bytes")
        }
        if let bad = bytes.withUnsafeBufferPointer({ UTF8Validation.firstInvalidByte($0) }) {
            parser.advance(to: bad)
            throw parser.error("invalid UTF-8 byte 0x\(String(bytes[bad], radix: 16))")
        }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            parser.offset = 3
            parser.lineStart = 3
        }
        let root = try parser.value(depth: 0, path: "")
        parser.skipWhitespace()
        guard parser.offset == bytes.count else { throw parser.error("unexpected text after the JSON value") }
        return root
    }

    // MARK: - Positions and errors

    private var location: SourceLocation { SourceLocation(line: line, column: offset - lineStart + 1) }

    /// Moves to `target`, counting line breaks (used only before parsing starts).
    private mutating func advance(to target: Int) {
        while offset < target {
            if bytes[offset] == 10 {
                line += 1
                lineStart = offset + 1
            }
            offset += 1
        }
    }

    private func error(_ what: String, at where: SourceLocation? = nil) -> NFMError {
        let at = `where` ?? location
        return DatasetDefinition.error(what, file: file, at: at, key: nil)
    }

    private mutating func skipWhitespace() {
        while offset < bytes.count {
            switch bytes[offset] {
            case 32, 9, 13: offset += 1
            case 10:
                offset += 1
                line += 1
                lineStart = offset
            default: return
            }
        }
    }

    private var current: UInt8? { offset < bytes.count ? bytes[offset] : nil }

    private func described(_ byte: UInt8?) -> String {
        guard let byte else { return "end of file" }
        if byte >= 32 && byte < 127 { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x\(String(byte, radix: 16))"
    }

    // MARK: - Values

    private mutating func value(depth: Int, path: String) throws -> JSONNode {
        skipWhitespace()
        let start = location
        guard depth < StrictJSON.maximumDepth else {
            throw error("nesting deeper than \(StrictJSON.maximumDepth) levels")
        }
        switch current {
        case UInt8(ascii: "{"): return JSONNode(value: .object(try members(depth: depth, path: path)), location: start)
        case UInt8(ascii: "["): return JSONNode(value: .array(try elements(depth: depth, path: path)), location: start)
        case UInt8(ascii: "\""): return JSONNode(value: .string(try string()), location: start)
        case UInt8(ascii: "t"): try literal("true"); return JSONNode(value: .bool(true), location: start)
        case UInt8(ascii: "f"): try literal("false"); return JSONNode(value: .bool(false), location: start)
        case UInt8(ascii: "n"): try literal("null"); return JSONNode(value: .null, location: start)
        case let byte? where byte == UInt8(ascii: "-") || (48...57).contains(byte):
            return JSONNode(value: .number(try number()), location: start)
        default: throw error("expected a JSON value, found \(described(current))")
        }
    }

    private mutating func literal(_ word: StaticString) throws {
        let text = word.withUTF8Buffer { Array($0) }
        guard offset + text.count <= bytes.count, Array(bytes[offset..<offset + text.count]) == text else {
            throw error("expected a JSON value, found \(described(current))")
        }
        offset += text.count
    }

    private mutating func members(depth: Int, path: String) throws -> [JSONNode.Member] {
        offset += 1  // {
        var members: [JSONNode.Member] = []
        var seen: [String: SourceLocation] = [:]
        skipWhitespace()
        if current == UInt8(ascii: "}") {
            offset += 1
            return members
        }
        while true {
            skipWhitespace()
            let keyLocation = location
            guard current == UInt8(ascii: "\"") else { throw error("expected a quoted key, found \(described(current))") }
            let key = try string()
            let keyPath = path.isEmpty ? key : path + "." + key
            if let first = seen[key] {
                throw DatasetDefinition.error(
                    "duplicate key (first at line \(first.line), column \(first.column))", file: file, at: keyLocation,
                    key: NFMError.excerpt(keyPath))
            }
            seen[key] = keyLocation
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw error("expected ':' after the key, found \(described(current))") }
            offset += 1
            let value = try value(depth: depth + 1, path: keyPath)
            members.append(JSONNode.Member(key: key, keyLocation: keyLocation, value: value))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): offset += 1
            case UInt8(ascii: "}"): offset += 1; return members
            default: throw error("expected ',' or '}' after a member, found \(described(current))")
            }
        }
    }

    private mutating func elements(depth: Int, path: String) throws -> [JSONNode] {
        offset += 1  // [
        var elements: [JSONNode] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") {
            offset += 1
            return elements
        }
        while true {
            elements.append(try value(depth: depth + 1, path: "\(path)[\(elements.count)]"))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): offset += 1
            case UInt8(ascii: "]"): offset += 1; return elements
            default: throw error("expected ',' or ']' after an element, found \(described(current))")
            }
        }
    }

    // MARK: - Strings and numbers

    private mutating func string() throws -> String {
        let start = location
        offset += 1  // opening quote
        var text: [UInt8] = []
        while true {
            guard let byte = current else { throw error("unterminated string (it starts at \(start))", at: start) }
            switch byte {
            case UInt8(ascii: "\""):
                offset += 1
                return String(decoding: text, as: UTF8.self)
            case UInt8(ascii: "\\"):
                try escape(into: &text)
            case 0..<32:
                throw error("raw control byte 0x\(String(byte, radix: 16)) in a string (write it as an escape such as \\n)")
            default:
                text.append(byte)
                offset += 1
            }
        }
    }

    private mutating func escape(into text: inout [UInt8]) throws {
        let escapeLocation = location
        offset += 1  // backslash
        guard let byte = current else { throw error("unterminated string") }
        offset += 1
        let simple: [UInt8: UInt8] = [34: 34, 92: 92, 47: 47, 98: 8, 102: 12, 110: 10, 114: 13, 116: 9]
        if let replacement = simple[byte] {
            text.append(replacement)
            return
        }
        guard byte == UInt8(ascii: "u") else {
            throw error("invalid escape '\\\(described(byte).trimmingQuotes)' in a string", at: escapeLocation)
        }
        var scalar = try hexQuad(at: escapeLocation)
        if (0xD800...0xDBFF).contains(scalar) {
            guard current == UInt8(ascii: "\\"), offset + 1 < bytes.count, bytes[offset + 1] == UInt8(ascii: "u") else {
                throw error("unpaired UTF-16 surrogate \\u\(String(scalar, radix: 16)) in a string", at: escapeLocation)
            }
            offset += 2
            let low = try hexQuad(at: escapeLocation)
            guard (0xDC00...0xDFFF).contains(low) else {
                throw error("unpaired UTF-16 surrogate \\u\(String(scalar, radix: 16)) in a string", at: escapeLocation)
            }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00...0xDFFF).contains(scalar) {
            throw error("unpaired UTF-16 surrogate \\u\(String(scalar, radix: 16)) in a string", at: escapeLocation)
        }
        guard let unicode = Unicode.Scalar(scalar) else {
            throw error("invalid \\u escape in a string", at: escapeLocation)
        }
        text += Array(String(Character(unicode)).utf8)
    }

    private mutating func hexQuad(at escapeLocation: SourceLocation) throws -> UInt32 {
        guard offset + 4 <= bytes.count else { throw error("\\u needs four hex digits", at: escapeLocation) }
        var value: UInt32 = 0
        for byte in bytes[offset..<offset + 4] {
            guard let digit = hexDigit(byte) else { throw error("\\u needs four hex digits", at: escapeLocation) }
            value = value << 4 | digit
        }
        offset += 4
        return value
    }

    private func hexDigit(_ byte: UInt8) -> UInt32? {
        switch byte {
        case 48...57: UInt32(byte - 48)
        case 65...70: UInt32(byte - 55)
        case 97...102: UInt32(byte - 87)
        default: nil
        }
    }

    /// `-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`, returned as text.
    private mutating func number() throws -> String {
        let start = offset
        func digits() -> Int {
            let from = offset
            while let byte = current, (48...57).contains(byte) { offset += 1 }
            return offset - from
        }
        if current == UInt8(ascii: "-") { offset += 1 }
        if current == UInt8(ascii: "0") {
            offset += 1
            if let byte = current, (48...57).contains(byte) { throw error("a number may not have leading zeros") }
        } else if digits() == 0 {
            throw error("expected a digit, found \(described(current))")
        }
        if current == UInt8(ascii: ".") {
            offset += 1
            guard digits() > 0 else { throw error("expected a digit after '.', found \(described(current))") }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            offset += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { offset += 1 }
            guard digits() > 0 else { throw error("expected a digit in the exponent, found \(described(current))") }
        }
        return String(decoding: bytes[start..<offset], as: UTF8.self)
    }
}

extension String {
    fileprivate var trimmingQuotes: String {
        hasPrefix("'") && hasSuffix("'") && count >= 2 ? String(dropFirst().dropLast()) : self
    }
}
