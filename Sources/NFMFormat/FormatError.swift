/// The one error type of the shard-format module: a stable code, a message that names the file, and an
/// optional underlying cause.
public struct FormatError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        case io, compression, corruptShard, manifest, verification, vocabulary
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
