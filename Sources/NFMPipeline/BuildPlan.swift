import Foundation
import NFMFormat

/// A build's settings, validated before anything is written: the definition's input format, the
/// negative rule and its key fields, the seed, and the option values.
///
/// Creating a plan touches no output, so `DatasetBuilder.build` claims the output directory only for a
/// build that can start (issue 7: a typo in `--input` or `--rule` never costs an existing dataset).
struct BuildPlan {
    let definition: DatasetDefinition
    /// The raw inputs in reading order: files or `-` (standard input).
    let inputPaths: [String]
    /// The first input (the only one of a single-input build).
    var inputPath: String { inputPaths.first ?? "" }
    /// The input files and the definition file: the output may neither be nor contain them.
    let protectedPaths: [String]
    /// The inputs' names as errors and the manifest give them (base names, `<stdin>`), comma-separated.
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
    /// Bytes per partition (hidden option), nil: chosen from the thread count.
    let partitionBytes: Int?
    /// Whether to run the single-pass reference path.
    let singlePass: Bool
    let progress: ((DatasetBuilder.Progress) -> Void)?

    /// Validates `options`; throws `.definition` for a definition the builder cannot use, `.usage` for an
    /// unknown rule or an out-of-range option.
    init(_ options: DatasetBuilder.Options) throws {
        let definition = options.definition
        let file = definition.sourceFile
        self.definition = definition
        inputPaths = options.inputPaths
        protectedPaths = options.inputPaths.filter { $0 != "-" } + (options.definitionPath.map { [$0] } ?? [])
        inputName = options.inputPaths.map(InputSet.name(of:)).joined(separator: ", ")
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
        if let chunk = options.partitionBytes, chunk < 1 {
            throw NFMError(.usage, "partition size must be ≥ 1 (got \(chunk))")
        }
        partitionBytes = options.partitionBytes
        singlePass = options.singlePass
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

    /// Opens the inputs (before the output is claimed): checks every path, then the first record of
    /// every regular-file input (see `InputSet`). Throws `.io` at a missing, unreadable or directory
    /// input, `.usage` for one file given twice, `.input` for an empty first input or a bad header.
    func openInputs() throws -> InputSet {
        let inputs = try InputSet(
            paths: inputPaths, format: format, header: definition.input.header, columns: definition.columns,
            fields: definition.fields + (definition.label.map { [$0.column] } ?? []), readBufferSize: readBufferSize)
        try inputs.checkHeaders()
        return inputs
    }
}
