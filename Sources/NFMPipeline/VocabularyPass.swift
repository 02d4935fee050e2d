import NFMFormat

/// Pass 1 of a build (SPEC §2–3): reads the raw log once, maps its header, builds each field's
/// vocabulary in first-appearance order, the set of positive (rule key, corrupted value) pairs, and
/// spills each positive as its local value indices followed by its rule-key id (`fieldCount + 1` words).
///
/// A value type whose per-row work is one `mutating` method, so that the hot loop's state is checked
/// for exclusive access at compile time, not per access at run time. O(bytes of input) time; memory:
/// the vocabularies, the distinct rule keys and pairs, and at most ¼ of the budget for spilled rows.
struct VocabularyPass {
    let plan: BuildPlan
    private(set) var vocabularies: [Vocabulary]
    /// Distinct rule-key tuples (their local value indices' bytes), in first-appearance order.
    private(set) var keys = Vocabulary(capacity: 1 << 12)
    private(set) var sampler: NegativeSampler
    let positives: RecordSpill
    let rejects: RejectLog
    private(set) var counts = DatasetManifest.Counts()
    private var mapping: HeaderMapping?
    private var record: [UInt32]
    private var keyTuple: [UInt32]
    private let digest: InputDigest

    init(plan: BuildPlan, digest: InputDigest, scratchDirectory: String, rejectsPath: String) throws {
        self.plan = plan
        self.digest = digest
        vocabularies = (0..<plan.fieldCount).map { _ in Vocabulary() }
        sampler = NegativeSampler(perPositive: plan.perPositive, seed: plan.seed)
        positives = RecordSpill(
            recordWidth: plan.fieldCount + 1, memoryLimit: plan.memoryBudget / 4,
            path: scratchDirectory + "/positives")
        rejects = RejectLog(path: rejectsPath, enabled: plan.skipBadRows)
        record = [UInt32](repeating: 0, count: plan.fieldCount + 1)
        keyTuple = [UInt32](repeating: 0, count: plan.ruleKey.count)
        let definition = plan.definition
        if !definition.input.header {
            mapping = try HeaderMapping(columns: definition.columns, fields: definition.fields, file: plan.inputName)
        }
    }

    /// Reads every record of `reader`; throws `.input` for an empty input, one without data rows, or
    /// (unless bad rows are skipped) the first malformed row.
    mutating func run(_ reader: DelimitedReader) throws {
        try reader.forEachRecord { row in try consume(row) }
        guard mapping != nil else {
            throw NFMError(.input, file: plan.inputName, line: 1, column: 1, "empty file: expected a header line")
        }
        guard counts.positives > 0 else {
            throw NFMError(.input, "no valid data rows (read \(counts.rowsRead))", at: .init(file: plan.inputName))
        }
    }

    /// One record: the header, a rejected row, or a positive.
    @inline(__always)
    private mutating func consume(_ row: DelimitedReader.Record) throws {
        guard let mapping else {
            let definition = plan.definition
            mapping = try HeaderMapping(
                header: row, required: definition.columns, fields: definition.fields, file: plan.inputName)
            return
        }
        counts.rowsRead += 1
        if let problem = row.problem ?? mapping.fieldCountProblem(row) {
            try reject(row, problem)
            return
        }
        let fieldCount = plan.fieldCount
        for f in 0..<fieldCount {
            record[f] = UInt32(vocabularies[f].encode(row.field(mapping.columnOfField[f])))
        }
        for (k, f) in plan.ruleKey.enumerated() { keyTuple[k] = record[f] }
        let key = keyTuple.withUnsafeBytes { keys.encode($0.bindMemory(to: UInt8.self)) }
        record[fieldCount] = UInt32(key)
        sampler.recordPositive(key: key, value: Int(record[plan.corrupted]))
        try record.withUnsafeBufferPointer { try positives.append($0) }
        counts.positives += 1
        if counts.rowsRead & 0xFFFF == 0, let progress = plan.progress {
            progress(.init(phase: .read, done: digest.bytes, total: digest.expectedBytes, rows: counts.rowsRead))
        }
    }

    /// A malformed row: an error, or with `skipBadRows` a line of `rejects.tsv`.
    private mutating func reject(_ row: DelimitedReader.Record, _ problem: (line: Int, column: Int, message: String))
        throws
    {
        guard plan.skipBadRows else {
            throw NFMError(
                .input, file: plan.inputName, line: problem.line, column: problem.column, problem.message)
        }
        counts.rowsRejected += 1
        try rejects.add(line: problem.line, column: problem.column, reason: problem.message, raw: row.raw)
    }
}
