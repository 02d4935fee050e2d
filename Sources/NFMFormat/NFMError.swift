/// The one error type of every nfm module: a stable code, a message saying what was expected, a structured
/// position and an optional underlying cause.
///
/// The code decides the process exit status through one table (``Code/exitCode``), which README.md's
/// "Exit codes" section reproduces (a test keeps the two equal):
///
/// | exit | codes | meaning |
/// |---|---|---|
/// | 1 | `input`, `definition`, `sampling` | bad input data (a raw log, a definition, libFM text), with its position |
/// | 2 | `usage`, `configuration`, `refused`, `datasetMismatch`, `diverged` | the request cannot be carried out as given |
/// | 3 | `io` | a file or directory cannot be opened, read, written or renamed |
/// | 4 | `corruptShard`, `manifest`, `checkpoint`, `vocabulary`, `compression`, `verification`, `dataset` | stored data failed its integrity checks |
public struct NFMError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, in the terms of the exit-code table.
    public enum Code: String, Sendable, CaseIterable {
        /// A malformed raw log row or libFM line.
        case input
        /// An invalid pipeline definition.
        case definition
        /// Negative sampling could not proceed as defined.
        case sampling
        /// An invalid option value or argument (unknown rule, swapped arguments …).
        case usage
        /// An invalid model or training configuration.
        case configuration
        /// An output was refused: it would overwrite a file or directory nfm did not write, an input, or an
        /// output another nfm process is writing.
        case refused
        /// A checkpoint used with a dataset of other features.
        case datasetMismatch
        /// Weights, losses or metrics became NaN or infinite.
        case diverged
        /// A file or directory cannot be opened, read, written or renamed.
        case io
        /// A shard whose bytes fail their checks.
        case corruptShard
        /// A manifest that is missing, malformed, inconsistent or fails its checksum.
        case manifest
        /// A checkpoint that is truncated, corrupted or inconsistent.
        case checkpoint
        /// A vocabulary file that does not match the manifest.
        case vocabulary
        /// A zstd frame that does not decompress.
        case compression
        /// `nfm verify` found problems.
        case verification
        /// A dataset whose contents contradict its manifest.
        case dataset

        /// The process exit status for this code (see the table on ``NFMError``).
        public var exitCode: Int32 {
            switch self {
            case .input, .definition, .sampling: 1
            case .usage, .configuration, .refused, .datasetMismatch, .diverged: 2
            case .io: 3
            case .corruptShard, .manifest, .checkpoint, .vocabulary, .compression, .verification, .dataset: 4
            }
        }
    }

    /// Where an error is: any of a file, a 1-based line and byte column, a field (or key) and its value.
    public struct Position: Sendable, Equatable, CustomStringConvertible {
        /// The file's path, as given or as found.
        public var file: String?
        /// 1-based line in a text file.
        public var line: Int?
        /// 1-based byte column within the line.
        public var column: Int?
        /// The field, column name or JSON key concerned.
        public var field: String?
        /// The offending value (cut to 200 bytes with `NFMError.excerpt(_:)`).
        public var value: String?

        /// A position with any of its parts (every part nil: no position).
        public init(
            file: String? = nil, line: Int? = nil, column: Int? = nil, field: String? = nil, value: String? = nil
        ) {
            self.file = file
            self.line = line
            self.column = column
            self.field = field
            self.value = value
        }

        /// `FILE:LINE:COLUMN`, then `field F = V` when known, e.g. `train/part-00000.nfms: field rows = 2^63`.
        public var description: String {
            var parts: [String] = []
            if let file {
                var location = file
                if let line { location += ":\(line)" }
                if let column { location += ":\(column)" }
                parts.append(location)
            }
            if let field {
                parts.append(value.map { "field \(field) = \(NFMError.excerpt($0))" } ?? "field \(field)")
            } else if let value {
                parts.append("value \(NFMError.excerpt(value))")
            }
            return parts.joined(separator: ": ")
        }
    }

    /// The exit-code table's entry for this error.
    public let code: Code
    /// What was expected, without the position.
    public let message: String
    /// Where, when known.
    public let position: Position?
    /// The underlying error, when one caused this one.
    public let cause: (any Error & Sendable)?

    /// An error of `code` with `message` (what was expected, without the position), where it is and what
    /// caused it.
    public init(_ code: Code, _ message: String, at position: Position? = nil, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.position = position
        self.cause = cause
    }

    /// An error at a position in a text file, rendered `file:line:column: what`.
    public init(_ code: Code, file: String, line: Int, column: Int, _ what: String) {
        self.init(code, what, at: Position(file: file, line: line, column: column))
    }

    /// `POSITION: message`, or the message alone.
    public var description: String {
        guard let position, !position.description.isEmpty else { return message }
        return "\(position): \(message)"
    }

    /// At most `limit` bytes of `text` (cut on a UTF-8 boundary, with `…`), so that an error line never
    /// dumps a whole input row.
    public static func excerpt(_ text: String, limit: Int = 200) -> String {
        guard text.utf8.count > limit else { return text }
        let scalars = text.unicodeScalars
        var end = scalars.startIndex
        var bytes = 0
        while end < scalars.endIndex, bytes + UTF8.width(scalars[end]) <= limit {
            bytes += UTF8.width(scalars[end])
            end = scalars.index(after: end)
        }
        return String(scalars[..<end]) + "…"
    }
}

/// Transitional names of ``NFMError`` (one type; new code names it directly).
public typealias FormatError = NFMError
/// Transitional name of ``NFMError``.
public typealias PipelineError = NFMError
/// Transitional name of ``NFMError``.
public typealias ModelError = NFMError
