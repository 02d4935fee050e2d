import Foundation
import NFMFormat

/// A build's settings, validated before anything is written: the definition's input format, the
/// negative rule and its key fields, the seed, and the option values.
///
/// Creating a plan touches no output, so `DatasetBuilder.build` claims the output directory only for a
/// build that can start (issue 7: a typo in `--input` or `--rule` never costs an existing dataset).
struct BuildPlan {
    let definition: DatasetDefinition
    let inputPath: String
    /// The input's file name, as errors and the manifest name it.
    let inputName: String
    let format: DelimitedReader.Format
    let seed: UInt64
    let ruleName: String
    /// Positions in `fields` of the rule key.
    let ruleKey: [Int]
    let fieldCount: Int
    /// Position in `fields` of the field that negatives corrupt.
    let corrupted: Int
    let perPositive: Int
    let threads: Int
    let readBufferSize: Int
    let memoryBudget: Int
    let skipBadRows: Bool
    let progress: ((DatasetBuilder.Progress) -> Void)?

    /// Validates `options`; throws `.definition` for a definition the builder cannot use, `.usage` for an
    /// unknown rule or an out-of-range option.
    init(_ options: DatasetBuilder.Options) throws {
        let definition = options.definition
        let file = definition.sourceFile
        self.definition = definition
        inputPath = options.inputPath
        inputName = (options.inputPath as NSString).lastPathComponent
        format = try BuildPlan.readerFormat(of: definition.input, file: file)
        seed = options.seed ?? definition.seed
        ruleName = options.rule ?? definition.negatives.rule
        ruleKey = try definition.ruleKey(ruleName)
        fieldCount = definition.fields.count
        guard fieldCount > 0, let corrupted = definition.fields.firstIndex(of: definition.negatives.field) else {
            throw PipelineError(.definition, "\(file): negatives.field '\(definition.negatives.field)' is not one of the fields")
        }
        self.corrupted = corrupted
        perPositive = definition.negatives.perPositive
        guard perPositive >= 0, definition.shardRows > 0, (1...22).contains(definition.zstdLevel) else {
            throw PipelineError(.definition, "\(file): negatives.perPositive, shardRows or zstdLevel out of range")
        }
        guard options.threads >= 1 else { throw PipelineError(.usage, "threads must be ≥ 1 (got \(options.threads))") }
        guard options.readBufferSize >= 16 else {
            throw PipelineError(.usage, "read buffer must be ≥ 16 bytes (got \(options.readBufferSize))")
        }
        guard options.memoryBudget >= 1 else {
            throw PipelineError(.usage, "memory budget must be ≥ 1 byte (got \(options.memoryBudget))")
        }
        threads = options.threads
        readBufferSize = options.readBufferSize
        memoryBudget = options.memoryBudget
        skipBadRows = options.skipBadRows
        progress = options.progress
        _ = try HeaderMapping(columns: definition.columns, fields: definition.fields, file: file)
    }

    /// The reader settings of a definition's `input`: a one-byte delimiter and an optional one-byte quote.
    static func readerFormat(of input: DatasetDefinition.Input, file: String) throws -> DelimitedReader.Format {
        guard input.delimiter.utf8.count == 1, let delimiter = input.delimiter.utf8.first else {
            throw PipelineError(.definition, "\(file): input.delimiter must be one byte")
        }
        guard let quote = input.quote else { return .init(delimiter: delimiter, quote: nil) }
        guard quote.utf8.count == 1, let byte = quote.utf8.first else {
            throw PipelineError(.definition, "\(file): input.quote must be one byte")
        }
        return .init(delimiter: delimiter, quote: byte)
    }

    /// Opens the input (before the output is claimed); `digest` sees every byte read from it.
    func openInput(_ digest: InputDigest) throws -> DelimitedReader {
        try DelimitedReader(
            path: inputPath, format: format, bufferSize: readBufferSize,
            onBytes: { bytes in digest.update(bytes) })
    }
}

/// The SHA-256 and size of the input as it streams by, and its size on disk for progress percentages.
final class InputDigest {
    private let hasher = SHA256()
    private(set) var bytes = 0
    /// The file's size when it is a regular file (nil for a pipe), for progress totals.
    let expectedBytes: Int?

    init(path: String) {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        let isRegular = attributes?[.type] as? FileAttributeType == .typeRegular
        expectedBytes = isRegular ? (attributes?[.size] as? NSNumber)?.intValue : nil
    }

    func update(_ chunk: UnsafeRawBufferPointer) {
        hasher.update(chunk)
        bytes += chunk.count
    }

    /// The manifest's record of the input.
    func input(name: String) -> DatasetManifest.Input {
        .init(name: name, bytes: bytes, sha256: hasher.hexDigest())
    }
}
