/// The one error type of the pipeline module: a code, and a message that names the file and, where there
/// is one, the 1-based line and byte column (`file:line:column: what was expected`).
public struct PipelineError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        case definition, input, output, sampling, usage
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// An error at a position in a text file.
    public init(_ code: Code, file: String, line: Int, column: Int, _ what: String) {
        self.init(code, "\(file):\(line):\(column): \(what)")
    }

    public var description: String { message }
}
