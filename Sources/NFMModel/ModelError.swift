/// The one error type of the training module: a stable code and a message naming the file or option.
public struct ModelError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        case io, configuration, dataset, checkpoint, datasetMismatch, input
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
