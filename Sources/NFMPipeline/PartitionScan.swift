import NFMFormat

/// The map step of a partitioned build: one partition's rows read once into local statistics.
///
/// Per field, a local vocabulary in the partition's first-appearance order with counts; the distinct
/// rule-key tuples (of local indices) likewise; the distinct positive (local key, local value) pairs,
/// ascending; every positive as its local indices followed by its local key id
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
    /// Per field, the local vocabulary (in plain memory: no copy-on-write check per field).
    private var vocabularies: VocabularyScanTables
    /// Where the tables and the pair buffer go when the scan ends, for the next partition's scan (nil:
    /// freed); let go of then.
    private var memoryPool: ScanMemoryPool?
    private var keys = Vocabulary(capacity: 1 << 10)
    /// Distinct (local key id << 32 | local value index) pairs, ascending once the scan ends (during it:
    /// every positive's pair, duplicates included — appended without a hash lookup, deduplicated per key
    /// by `compact`, which touches each key's few values together instead of a large set at random).
    var pairs: [UInt64] = []
    /// The positives: `fieldCount` local indices and the local key id each.
    let rows: PackedRecordSpill
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
    /// The rule key's field when the key is one field (its local key ids are then that field's local value
    /// indices: a key first appears with its value), else −1.
    private let keyField: Int
    private let corrupted: Int
    private let record: WordBuffer
    /// The record hashed but not yet encoded, and the one the next record is hashed into: unmanaged
    /// references to `pendingRecords`' two, swapped and used without a retain or release per row (the
    /// per-row swap of two strong references cost two of each: 3 % of a 3 M-row build's processor time).
    private var held: Unmanaged<PendingRecord>
    private var spare: Unmanaged<PendingRecord>
    private let pendingRecords: [PendingRecord]
    /// The rule key's local indices as little-endian bytes (the key vocabulary's values).
    private let keyTuple: UnsafeMutableBufferPointer<UInt8>
    private let keyTupleOwner: ByteBuffer

    /// An empty scan for a build of `plan`, holding rows in memory up to `rowMemory` bytes (more goes to
    /// `rowSpillPath`); its vocabulary tables and pair buffer come from `memoryPool` and go back to it when
    /// the scan ends.
    init(plan: BuildPlan, rowMemory: Int, rowSpillPath: String, memoryPool: ScanMemoryPool? = nil) {
        fieldCount = plan.fieldCount
        ruleKey = plan.ruleKey
        keyField = plan.ruleKey.count == 1 ? plan.ruleKey[0] : -1
        corrupted = plan.corrupted
        vocabularies = memoryPool?.takeTables(count: plan.fieldCount) ?? VocabularyScanTables(count: plan.fieldCount)
        pairs = memoryPool?.takePairs() ?? []
        self.memoryPool = memoryPool
        rows = PackedRecordSpill(recordWidth: plan.fieldCount + 1, memoryLimit: rowMemory, path: rowSpillPath)
        record = WordBuffer(width: plan.fieldCount + 1)
        pendingRecords = [PendingRecord(fieldCount: plan.fieldCount), PendingRecord(fieldCount: plan.fieldCount)]
        held = Unmanaged.passUnretained(pendingRecords[0])
        spare = Unmanaged.passUnretained(pendingRecords[1])
        keyTupleOwner = ByteBuffer(count: 4 * plan.ruleKey.count)
        keyTuple = keyTupleOwner.bytes
    }

    /// Scans `partition` of `inputs` (see the type). Throws `.io`, `.compression` or a reader error for
    /// an input that cannot be read; a malformed row is recorded in `badRow` or `rejects` instead.
    mutating func run(
        _ partition: BuildPartition, inputs: InputSet, plan: BuildPlan, onRows: ((Int) -> Void)? = nil
    ) throws {
        struct Stop: Error {}
        let name = inputs.names[partition.input]
        let (reader, raw) = try partition.openReader(inputs, bufferSize: plan.readBufferSize)
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
            try encodeHeld()
            compact()
            return
        }
        try encodeHeld()
        onRows?(rowsRead & 0xFFFF)
        compact()
        lines = reader.linesConsumed
        if let raw { stored = .init(name: name, bytes: raw.storedBytes, sha256: raw.sha256()) }
    }

    /// Keeps the statistics in their compact form only: value lists instead of vocabularies, the distinct
    /// pairs (ascending) at their exact size.
    private mutating func compact() {
        fieldValues = (0..<vocabularies.count).map(vocabularies.valueList)
        keyValues = keyField >= 0 ? ValueList(indexTuples: fieldValues[keyField].counts) : ValueList(keys)
        memoryPool?.give(vocabularies)
        vocabularies = VocabularyScanTables(count: 0)
        keys = Vocabulary()
        var raw = PartitionScan.distinct(pairs, keyCount: keyValues.count)
        swap(&raw, &pairs)
        if let memoryPool { memoryPool.give(consume raw) }
        memoryPool = nil
    }

    /// The distinct values of `pairs` (`key << 32 | value`, keys below `keyCount`), ascending: a counting
    /// sort by key into the result, then each key's values sorted (by insertion when few: a key's values
    /// in one partition are a dozen or so) and deduplicated in place. O(pairs + keys) plus the per-key sorts.
    static func distinct(_ pairs: [UInt64], keyCount: Int) -> [UInt64] {
        var starts = [Int](repeating: 0, count: keyCount + 1)
        var out = [UInt64](repeating: 0, count: pairs.count)
        let end = starts.withUnsafeMutableBufferPointer { starts in
            out.withUnsafeMutableBufferPointer { out in
                pairs.withUnsafeBufferPointer { pairs in
                    for pair in pairs { starts[Int(truncatingIfNeeded: pair >> 32) &+ 1] &+= 1 }
                    for k in 0..<keyCount { starts[k &+ 1] &+= starts[k] }
                    for pair in pairs {
                        let key = Int(truncatingIfNeeded: pair >> 32)
                        out[starts[key]] = pair
                        starts[key] &+= 1
                    }
                }
                // `starts[k]` is now key k's end; its start is key k − 1's end.
                var end = 0
                var from = 0
                for k in 0..<keyCount {
                    let to = starts[k]
                    end = sortAndKeepDistinct(out.baseAddress!, from: from, to: to, into: end)
                    from = to
                }
                return end
            }
        }
        // At the exact size (the scan keeps these until the merge; removing the tail would keep its memory).
        return end == out.count ? out : Array(out[..<end])
    }

    /// Sorts `words[from..<to]` and moves its distinct values to `words[end...]` (`end ≤ from`); returns
    /// the new end.
    @inline(__always)
    private static func sortAndKeepDistinct(_ words: UnsafeMutablePointer<UInt64>, from: Int, to: Int, into end: Int) -> Int {
        PairTable.sort(UnsafeMutableBufferPointer(start: words + from, count: to - from))
        var end = end
        for i in from..<to where i == from || words[i] != words[i - 1] {
            words[end] = words[i]
            end += 1
        }
        return end
    }

    /// Frees the local statistics once merged (the rows, counts and rejects stay).
    mutating func releaseStatistics() {
        fieldValues = []
        keyValues = ValueList(Vocabulary())
        pairs = []
    }

    /// One well-formed data row: hashed and held (`PendingRecord`, its slots prefetched) after the held
    /// record is encoded — each record is encoded one record late, in order.
    @inline(__always)
    private mutating func consume(_ row: DelimitedReader.Record, _ mapping: HeaderMapping) throws {
        let next = spare
        mapping.columnOfField.withUnsafeBufferPointer { columns in
            next._withUnsafeGuaranteedRef { $0.hold(row, columns: columns, vocabularies) }
        }
        try encodeHeld()
        (spare, held) = (held, next)
    }

    /// Encodes the held record, if any: its local indices, key and pair, appended to `rows`.
    @inline(__always)
    private mutating func encodeHeld() throws {
        guard held._withUnsafeGuaranteedRef({ encodeFields(of: $0) }) else { return }
        let record = self.record.words
        let key: UInt32
        if keyField >= 0 {
            key = record[keyField]
        } else {
            for (k, f) in ruleKey.enumerated() {
                let value = record[f]
                for b in 0..<4 { keyTuple[4 * k + b] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(b))) }
            }
            key = UInt32(truncatingIfNeeded: keys.encode(UnsafeBufferPointer(rebasing: keyTuple[0..<4 * ruleKey.count])))
        }
        record[fieldCount] = key
        pairs.append(UInt64(key) << 32 | UInt64(record[corrupted]))
        try rows.append(UnsafeBufferPointer(record))
        positives += 1
    }

    /// Encodes the fields of `held` (a record of `pendingRecords`) into `record` and lets it go; false
    /// when it holds no record.
    @inline(__always)
    private func encodeFields(of held: PendingRecord) -> Bool {
        guard held.isHeld else { return false }
        held.isHeld = false
        let record = self.record.words
        for f in 0..<fieldCount {
            let index = vocabularies.encode(f, held.field(f), key: held.keys[2 &* f], hash: held.keys[2 &* f &+ 1])
            record[f] = UInt32(truncatingIfNeeded: index)
        }
        return true
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

