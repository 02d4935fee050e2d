import NFMFormat

/// Pass 1 of a labelled build (an explicit label column, definition version 2): reads every input once,
/// parses each row's label and cells, grows the vocabularies in first-appearance order, and spills the
/// row as words for pass 2.
///
/// A row's record is `[label bits]` followed, per field in order, by:
/// - one-hot vocabulary fields (categorical, bucketized numeric): the value's first-appearance index, or
///   `oovWord` (an empty cell with `missing: oov`) or `noneWord` (an empty bucketized cell with
///   `missing: zero`);
/// - kept numeric fields: the bits of `Float(t(x))`, or `noneWord` for an empty cell;
/// - multi-valued fields: the number n of values, then their n first-appearance indices.
///
/// Every cell is parsed before any vocabulary changes, so a rejected row leaves no trace in the counts.
/// O(bytes of input) time; memory: the vocabularies and at most ¼ of the budget for spilled rows.
struct LabelledPass {
    /// An empty cell that gives no feature (`missing: zero`); not a finite float's bits.
    static let noneWord: UInt32 = 0xFFFF_FFFF
    /// An empty cell mapped to the field's OOV feature (`missing: oov`).
    static let oovWord: UInt32 = 0xFFFF_FFFE

    let plan: BuildPlan
    let specs: [FieldSpec]
    /// `specs` as plain values for the per-cell loop.
    private let codes: [CellCode]
    /// Positions of the numeric fields (parsed before anything else of a row).
    private let numericFields: [Int]
    /// The transform of each kept-number field (nil for the others), for `NumericCell.number`.
    private let transforms: [FieldSpec.Transform?]
    let label: LabelColumn
    private let inputs: InputSet
    private(set) var vocabularies: [Vocabulary]
    let rows: WordSpill
    let rejects: RejectLog
    private(set) var counts = DatasetManifest.Counts()
    /// Smallest, largest and summed label of the accepted rows.
    private(set) var labelRange: (minimum: Float, maximum: Float, sum: Double) = (.infinity, -.infinity, 0)
    /// Entries over all accepted rows (sizes the position buckets).
    private(set) var entries = 0
    private var record: [UInt32] = []
    /// Parsed numbers of the current row, by field (numeric fields only).
    private var numbers: [Double?]
    /// Whether this pass scans one partition (`run(_:)` with a partition): bad rows are kept in `badRow`
    /// or `partitionRejects` at partition-local lines, and the labels in `labels`.
    private let scansPartition: Bool
    /// Partition mode: the accepted rows' labels in order (the manifest's mean sums them in input order).
    private(set) var labels: [Float] = []
    /// Partition mode: the first malformed row when bad rows are not skipped (the scan stops there).
    private(set) var badRow: PartitionScan.BadRow?
    /// Partition mode with `skipBadRows`: the rejected rows at partition-local lines.
    private(set) var partitionRejects: [PartitionScan.Reject] = []
    /// Partition mode: the lines the partition's bytes hold.
    private(set) var lines = 0
    /// Partition mode: stored size and SHA-256 of a whole-input partition.
    private(set) var stored: DatasetManifest.Input?

    /// A pass over every input (rows spilled to `scratchDirectory/rows`, rejects to `rejectsPath`); with
    /// `partition` set, a scan of one partition (rows in `rows-i` within `rowMemory` bytes, rejects kept).
    init(
        plan: BuildPlan, label: LabelColumn, inputs: InputSet, scratchDirectory: String, rejectsPath: String,
        partition: Int? = nil, rowMemory: Int? = nil
    ) {
        self.plan = plan
        self.label = label
        self.inputs = inputs
        specs = plan.definition.fieldSpecs
        vocabularies = specs.map { _ in Vocabulary() }
        scansPartition = partition != nil
        rows = WordSpill(
            memoryLimit: rowMemory ?? plan.memoryBudget / 4,
            path: scratchDirectory + (partition.map { "/rows-\($0)" } ?? "/rows"))
        rejects = RejectLog(path: rejectsPath, enabled: plan.skipBadRows)
        numbers = [Double?](repeating: nil, count: specs.count)
        codes = specs.map(\.cellCode)
        let specs = plan.definition.fieldSpecs
        numericFields = specs.indices.filter { specs[$0].kind == .numeric }
        transforms = specs.map(\.keptTransform)
    }

    /// Reads every row of the inputs; throws `.input` for inputs without valid data rows or (unless bad
    /// rows are skipped) the first malformed row.
    mutating func run() throws {
        try inputs.forEachRow { row, mapping, file in try consume(row, mapping, file) }
        guard counts.positives > 0 else {
            throw NFMError(.input, "no valid data rows (read \(counts.rowsRead))", at: .init(file: inputs.names.first))
        }
    }

    /// Frees the local vocabularies and labels once merged (partition mode; the rows, counts and rejects stay).
    mutating func releaseStatistics() {
        vocabularies = []
        labels = []
    }

    /// Scans one partition of the inputs (partition mode): its rows, its local vocabularies, and its first
    /// bad row or rejects at lines counted from the partition's first byte.
    mutating func run(_ partition: BuildPartition) throws {
        struct Stop: Error {}
        let name = inputs.names[partition.input]
        let (reader, raw) = try partition.openReader(inputs, bufferSize: plan.readBufferSize)
        var skipFirst = partition.skipsHeader
        do {
            try reader.forEachRecord { row in
                if skipFirst {
                    skipFirst = false
                    return
                }
                try consume(row, partition.mapping, name)
                if badRow != nil { throw Stop() }
            }
        } catch is Stop {
            return
        }
        lines = reader.linesConsumed
        if let raw { stored = .init(name: name, bytes: raw.storedBytes, sha256: raw.sha256()) }
    }

    private mutating func consume(_ row: DelimitedReader.Record, _ mapping: HeaderMapping, _ file: String) throws {
        counts.rowsRead += 1
        if let problem = row.problem ?? mapping.fieldCountProblem(row) {
            try reject(row, problem, file)
            return
        }
        let labelColumn = mapping.columnOfField[specs.count]
        guard let value = label.value(of: row.field(labelColumn)) else {
            let expected = label.kind == .real ? "a number" : "one of \(label.map.keys.sorted())"
            let found = NFMError.excerpt(row.string(labelColumn))
            try reject(
                row, (row.line(ofField: labelColumn), row.column(ofField: labelColumn), "label: expected \(expected), found '\(found)'"),
                file)
            return
        }
        if let problem = parseNumbers(row, mapping) {
            try reject(row, problem, file)
            return
        }
        record.removeAll(keepingCapacity: true)
        record.append(value.bitPattern)
        for f in 0..<specs.count { encode(f, row.field(mapping.columnOfField[f])) }
        try record.withUnsafeBufferPointer { try rows.append($0) }
        counts.positives += 1
        if scansPartition { labels.append(value) }
        labelRange = (min(labelRange.minimum, value), max(labelRange.maximum, value), labelRange.sum + Double(value))
        if !scansPartition, counts.rowsRead & 0xFFFF == 0, let progress = plan.progress {
            progress(.init(phase: .read, done: inputs.bytesRead, total: inputs.expectedBytes, rows: counts.rowsRead))
        }
    }

    /// Parses the numeric cells into `numbers` (nil for an empty cell); the problem of the first cell that
    /// is not a number, or whose transformed value is not finite as a 32-bit float.
    private mutating func parseNumbers(_ row: DelimitedReader.Record, _ mapping: HeaderMapping)
        -> (line: Int, column: Int, message: String)?
    {
        for f in numericFields {
            let column = mapping.columnOfField[f]
            let cell = row.field(column)
            guard !cell.isEmpty else {
                numbers[f] = nil
                continue
            }
            switch NumericCell.number(cell, transform: transforms[f]) {
            case .success(let x):
                numbers[f] = x
            case .failure(let problem):
                let found = NFMError.excerpt(row.string(column))
                return (
                    row.line(ofField: column), row.column(ofField: column),
                    "field \(specs[f].name): \(problem.message), found '\(found)'"
                )
            }
        }
        return nil
    }

    /// Appends field `f`'s words for `cell` to `record` (see the type's summary).
    @inline(__always)
    private mutating func encode(_ f: Int, _ cell: UnsafeBufferPointer<UInt8>) {
        switch codes[f] {
        case .categorical(let emptyIsOOV):
            record.append(cell.isEmpty && emptyIsOOV ? LabelledPass.oovWord : UInt32(vocabularies[f].encode(cell)))
            entries += 1
        case .number(let transform, let missingOwnValue):
            guard let x = numbers[f] else {
                if missingOwnValue { entries += 1 }
                record.append(LabelledPass.noneWord)
                return
            }
            entries += 1
            record.append(Float(FieldSpec.transform(x, transform)).bitPattern)
        case .bucketized(let missingOwnValue):
            guard let x = numbers[f] else {
                if missingOwnValue {
                    entries += 1
                    record.append(UInt32(vocabularies[f].encode(UnsafeBufferPointer(start: nil, count: 0))))
                } else {
                    record.append(LabelledPass.noneWord)
                }
                return
            }
            entries += 1
            var name = specs[f].bucketName(x)
            record.append(name.withUTF8 { UInt32(vocabularies[f].encode($0)) })
        case .multi(let separator, _):
            let countIndex = record.count
            record.append(0)
            MultiCell.forEachValue(in: cell, separator: separator) { value in
                record.append(UInt32(vocabularies[f].encode(value)))
            }
            record[countIndex] = UInt32(record.count - countIndex - 1)
            entries += record.count - countIndex - 1
        }
    }

    /// A malformed row of input `file`: an error, or with `skipBadRows` a line of `rejects.tsv`.
    private mutating func reject(
        _ row: DelimitedReader.Record, _ problem: (line: Int, column: Int, message: String), _ file: String
    ) throws {
        if scansPartition {
            guard plan.skipBadRows else {
                badRow = .init(line: problem.line, column: problem.column, message: problem.message)
                return
            }
            var escaped: [UInt8] = []
            Vocabulary.appendEscaped(row.raw, to: &escaped)
            let reason = inputs.paths.count > 1 ? file + ": " + problem.message : problem.message
            partitionRejects.append(.init(line: problem.line, column: problem.column, reason: reason, escaped: escaped))
        } else {
            try rejects.reject(row, problem, file: file, nameFile: inputs.paths.count > 1)
        }
        counts.rowsRejected += 1
    }
}
