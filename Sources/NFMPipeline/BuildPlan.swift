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
    /// The input and the definition file: the output may neither be nor contain them.
    let protectedPaths: [String]
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
    /// Labels of positives and sampled negatives (a labelled build takes its labels from the data).
    let labels: DatasetDefinition.Labels
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
        protectedPaths = [options.inputPath] + (options.definitionPath.map { [$0] } ?? [])
        inputName = (options.inputPath as NSString).lastPathComponent
        format = try BuildPlan.readerFormat(of: definition.input, file: file)
        seed = options.seed ?? definition.seed
        if definition.hasLabelColumn, let rule = options.rule {
            throw NFMError(.usage, "\(file) has an explicit label column and samples no negatives; --rule \(NFMError.excerpt(rule)) does not apply")
        }
        ruleName = options.rule ?? definition.negatives?.rule ?? ""
        ruleKey = definition.hasLabelColumn ? [] : try definition.ruleKey(ruleName)
        fieldCount = definition.fields.count
        let corruptedName = definition.negatives?.field
        guard fieldCount > 0, let corrupted = corruptedName.map({ definition.fields.firstIndex(of: $0) }) ?? 0 else {
            throw NFMError(
                .definition, "must be one of the fields \(definition.fields)",
                at: .init(file: file, field: "negatives.field", value: corruptedName))
        }
        self.corrupted = corrupted
        perPositive = definition.negatives?.perPositive ?? 0
        labels = definition.labels ?? .init(positive: 1, negative: 0)
        for (name, value, range) in [
            ("negatives.perPositive", perPositive, 0...Int(Int32.max)),
            ("shardRows", definition.shardRows, 1...BuildPlan.maximumShardRows(fieldCount: fieldCount)),
            ("zstdLevel", definition.zstdLevel, 1...22),
        ] where !range.contains(value) {
            throw NFMError(.definition, "must be in \(range)", at: .init(file: file, field: name, value: "\(value)"))
        }
        for (name, value, minimum) in [
            ("threads", options.threads, 1), ("read buffer", options.readBufferSize, 16),
            ("memory budget", options.memoryBudget, 1),
        ] where value < minimum {
            throw NFMError(.usage, "\(name) must be ≥ \(minimum) (got \(value))")
        }
        threads = options.threads
        readBufferSize = options.readBufferSize
        memoryBudget = options.memoryBudget
        skipBadRows = options.skipBadRows
        progress = options.progress
        _ = try HeaderMapping(columns: definition.columns, fields: definition.fields, file: file)
    }

    /// The most rows a shard may hold: a shard being filled takes `4 · rows · (fields + 1)` bytes, kept
    /// under 1 GiB, and at most 2²⁴ rows.
    static func maximumShardRows(fieldCount: Int) -> Int { min(1 << 24, (1 << 28) / (fieldCount + 1)) }

    /// The reader settings of a definition's `input`: a one-byte delimiter and an optional one-byte quote.
    static func readerFormat(of input: DatasetDefinition.Input, file: String) throws -> DelimitedReader.Format {
        guard input.delimiter.utf8.count == 1, let delimiter = input.delimiter.utf8.first else {
            throw NFMError(.definition, "must be one byte", at: .init(file: file, field: "input.delimiter", value: input.delimiter))
        }
        guard let quote = input.quote else { return .init(delimiter: delimiter, quote: nil) }
        guard quote.utf8.count == 1, let byte = quote.utf8.first else {
            throw NFMError(.definition, "must be one byte", at: .init(file: file, field: "input.quote", value: quote))
        }
        return .init(delimiter: delimiter, quote: byte)
    }

    /// Opens the input (before the output is claimed); `digest` sees every byte read from it.
    /// Throws `.io` at the input's path when it is missing, a directory or unreadable.
    func openInput(_ digest: InputDigest) throws -> DelimitedReader {
        var info = stat()
        guard stat(inputPath, &info) == 0 else {
            let reason = errno == ENOENT ? "no such file" : "cannot open (\(String(cString: strerror(errno))))"
            throw NFMError(.io, reason, at: .init(file: inputPath))
        }
        guard info.st_mode & S_IFMT != S_IFDIR else {
            throw NFMError(.io, "is a directory; expected the raw log", at: .init(file: inputPath))
        }
        guard access(inputPath, R_OK) == 0 else {
            throw NFMError(.io, "cannot read (\(String(cString: strerror(errno))))", at: .init(file: inputPath))
        }
        let reader = try DelimitedReader(
            path: inputPath, format: format, bufferSize: readBufferSize,
            onBytes: { bytes in digest.update(bytes) })
        if digest.expectedBytes != nil { try checkHeader() }
        return reader
    }

    /// Reads the header record of a regular file, so that an empty input or a wrong header is refused
    /// before the output is claimed (a pipe cannot be read twice: there the first pass finds it).
    private func checkHeader() throws {
        guard definition.input.header else { return }
        struct Stop: Error {}
        let reader = try DelimitedReader(path: inputPath, format: format, bufferSize: 64 << 10)
        do {
            try reader.forEachRecord { row in
                _ = try HeaderMapping(header: row, required: definition.columns, fields: definition.fields, file: inputName)
                throw Stop()
            }
        } catch is Stop {
            return
        }
        throw NFMError(.input, file: inputName, line: 1, column: 1, "empty file: expected a header line")
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
