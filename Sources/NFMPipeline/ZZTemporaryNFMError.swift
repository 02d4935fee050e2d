// TEMPORARY until the Foundation commit lands on main; deleted at the merge.
public struct NFMError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable { case input, definition, sampling, usage, refused, io }
    public struct Position: Sendable, Equatable, CustomStringConvertible {
        public var file: String?, line: Int?, column: Int?, field: String?, value: String?
        public init(file: String? = nil, line: Int? = nil, column: Int? = nil, field: String? = nil, value: String? = nil) {
            self.file = file; self.line = line; self.column = column; self.field = field; self.value = value
        }
        public var description: String {
            var s = file ?? ""
            if let line { s += ":\(line)" }
            if let column { s += ":\(column)" }
            return s
        }
    }
    public let code: Code
    public let message: String
    public let position: Position?
    public let cause: (any Error & Sendable)?
    public init(_ code: Code, _ message: String, at position: Position? = nil, cause: (any Error & Sendable)? = nil) {
        self.code = code; self.message = message; self.position = position; self.cause = cause
    }
    public init(_ code: Code, file: String, line: Int, column: Int, _ what: String) {
        self.init(code, what, at: Position(file: file, line: line, column: column))
    }
    public var description: String {
        guard let position else { return message }
        return "\(position): \(message)"
    }
    public static func excerpt(_ text: String) -> String {
        let bytes = Array(text.utf8)
        if bytes.count <= 200 { return text }
        var end = 200
        while end > 0 && bytes[end] & 0xC0 == 0x80 { end -= 1 }
        return String(decoding: bytes[..<end], as: UTF8.self) + "…"
    }
}
extension PipelineError { init(_ e: NFMError) { self.init(.definition, e.description) } }
