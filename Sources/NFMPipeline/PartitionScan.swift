import NFMFormat

/// The map step of a partitioned build: one partition's rows read once into local statistics.
///
/// Per field, a local vocabulary in the partition's first-appearance order with counts; the distinct
/// rule-key tuples (of local indices) likewise; the distinct positive (local key, local value) pairs in
/// first-appearance order; every positive as its local indices followed by its local key id
/// (`fieldCount + 1` words, in `rows`); the counts; and the first bad row (at a line local to the
/// partition) or, with `skipBadRows`, the rejected rows. `VocabularyMerge` turns these into the global
/// numbering, which equals a single pass's because partitions are merged in input order.
///
/// O(bytes of the partition) time; memory: the local vocabularies, keys and pairs, and `rows` (which
/// spills beyond its memory limit).
struct PartitionScan {
    /// A malformed row, at a line counted from the partition's first byte (1-based).
    struct BadRow: Equatable, Sendable {
        var line: Int
        var column: Int
        var message: String
    }

    /// A rejected row of a `--skip-bad-rows` build: its `rejects.tsv` line without the line number's offset.
    struct Reject: Equatable, Sendable {
        var line: Int
        var column: Int
        var reason: String
        /// The record's bytes, escaped as in `rejects.tsv`.
        var escaped: [UInt8]
    }

    /// Per field, the distinct values in first-appearance order with counts (filled when the scan ends).
    var fieldValues: [ValueList] = []
    /// Distinct rule-key tuples (local value indices' bytes), in first-appearance order, with counts.
    var keyValues = ValueList(Vocabulary())
    private var vocabularies: [Vocabulary]
    private var keys = Vocabulary(capacity: 1 << 10)
    /// Distinct (local key id << 32 | local value index) pairs, in first-appearance order.
    var pairs: [UInt64] = []
    private var pairSet = UInt64Set(capacity: 1 << 10)
    /// The positives: `fieldCount` local indices and the local key id each.
    let rows: RecordSpill
    var rowsRead = 0
    var rowsRejected = 0
    var positives = 0
    /// Lines the partition's bytes hold (the line offset of the next partition of the same input).
    var lines = 0
    /// The first malformed row when bad rows are not skipped (the scan stops there).
    var badRow: BadRow?
    var rejects: [Reject] = []
    /// Stored size and SHA-256 of a whole-input partition (a split input is hashed on its own).
    var stored: DatasetManifest.Input?

    private let fieldCount: Int
    private let ruleKey: [Int]
    private let corrupted: Int
    private let record: WordBuffer
    /// The rule key's local indices as little-endian bytes (the key vocabulary's values).
    private let keyTuple: UnsafeMutableBufferPointer<UInt8>
    private let keyTupleOwner: ByteBuffer

    /// An empty scan for a build of `plan`, holding rows in memory up to `rowMemory` bytes (more goes to
    /// `rowSpillPath`).
    init(plan: BuildPlan, rowMemory: Int, rowSpillPath: String) {
        fieldCount = plan.fieldCount
        ruleKey = plan.ruleKey
        corrupted = plan.corrupted
        vocabularies = (0..<plan.fieldCount).map { _ in Vocabulary() }
        rows = RecordSpill(recordWidth: plan.fieldCount + 1, memoryLimit: rowMemory, path: rowSpillPath)
        record = WordBuffer(width: plan.fieldCount + 1)
        keyTupleOwner = ByteBuffer(count: 4 * plan.ruleKey.count)
        keyTuple = keyTupleOwner.bytes
    }

    /// Scans `partition` of `inputs` (see the type). Throws `.io`, `.compression` or a reader error for
    /// an input that cannot be read; a malformed row is recorded in `badRow` or `rejects` instead.
    mutating func run(
        _ partition: BuildPartition, inputs: InputSet, plan: BuildPlan, onRows: ((Int) -> Void)? = nil
    ) throws {
        struct Stop: Error {}
        let path = inputs.paths[partition.input]
        let name = inputs.names[partition.input]
        let raw: RawInput? = partition.isWholeInput ? try RawInput(path: path) : nil
        let source: any ByteSource = try raw ?? FileRangeSource(path: path, start: partition.start, end: partition.end)
        let reader = try DelimitedReader(source: source, name: name, format: inputs.format, bufferSize: plan.readBufferSize)
        reader.atFileStart = partition.start == 0
        let mapping = partition.mapping
        let nameFile = inputs.paths.count > 1
        var skipFirst = partition.skipsHeader
        do {
            try reader.forEachRecord { row in
                if skipFirst {
                    skipFirst = false
                    return
                }
                rowsRead += 1
                if let problem = row.problem ?? mapping.fieldCountProblem(row) {
                    guard plan.skipBadRows else {
                        badRow = BadRow(line: problem.line, column: problem.column, message: problem.message)
                        throw Stop()
                    }
                    var escaped: [UInt8] = []
                    Vocabulary.appendEscaped(row.raw, to: &escaped)
                    let reason = nameFile ? name + ": " + problem.message : problem.message
                    rejects.append(Reject(line: problem.line, column: problem.column, reason: reason, escaped: escaped))
                    rowsRejected += 1
                    return
                }
                try consume(row, mapping)
                if rowsRead & 0xFFFF == 0 { onRows?(0x10000) }
            }
        } catch is Stop {
            compact()
            return
        }
        onRows?(rowsRead & 0xFFFF)
        compact()
        lines = reader.linesConsumed
        if let raw { stored = .init(name: name, bytes: raw.storedBytes, sha256: raw.sha256()) }
    }

    /// Keeps the statistics in their compact form only: value lists instead of vocabularies, the pair list
    /// at its exact size, no pair set.
    private mutating func compact() {
        fieldValues = vocabularies.map(ValueList.init)
        keyValues = ValueList(keys)
        vocabularies = []
        keys = Vocabulary()
        pairSet = UInt64Set(capacity: 0)
        pairs = Array(pairs)
    }

    /// Frees the local statistics once merged (the rows, counts and rejects stay).
    mutating func releaseStatistics() {
        fieldValues = []
        keyValues = ValueList(Vocabulary())
        pairs = []
    }

    /// One well-formed data row: its local indices, key and pair, appended to `rows`.
    @inline(__always)
    private mutating func consume(_ row: DelimitedReader.Record, _ mapping: HeaderMapping) throws {
        let record = self.record.words
        for f in 0..<fieldCount {
            record[f] = UInt32(truncatingIfNeeded: vocabularies[f].encode(row.field(mapping.columnOfField[f])))
        }
        for (k, f) in ruleKey.enumerated() {
            let value = record[f]
            for b in 0..<4 { keyTuple[4 * k + b] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(b))) }
        }
        let key = keys.encode(UnsafeBufferPointer(rebasing: keyTuple[0..<4 * ruleKey.count]))
        record[fieldCount] = UInt32(truncatingIfNeeded: key)
        let pair = UInt64(key) << 32 | UInt64(record[corrupted])
        if pairSet.insert(pair &+ 1) { pairs.append(pair) }
        try rows.append(UnsafeBufferPointer(record))
        positives += 1
    }
}

/// Bytes of plain memory owned by an object (freed with it).
final class ByteBuffer {
    let bytes: UnsafeMutableBufferPointer<UInt8>

    init(count: Int) {
        bytes = .allocate(capacity: max(count, 1))
        bytes.initialize(repeating: 0)
    }

    deinit { bytes.deallocate() }
}
