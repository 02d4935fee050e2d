import NFMFormat

/// Pass 1 of a build (SPEC §2–3): reads the raw inputs once (their headers are mapped by `InputSet`),
/// builds each field's
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
    private var record: [UInt32]
    private var keyTuple: [UInt32]
    private let inputs: InputSet

    init(plan: BuildPlan, inputs: InputSet, scratchDirectory: String, rejectsPath: String) {
        self.plan = plan
        self.inputs = inputs
        vocabularies = (0..<plan.fieldCount).map { _ in Vocabulary() }
        sampler = NegativeSampler(perPositive: plan.perPositive, seed: plan.seed)
        positives = RecordSpill(
            recordWidth: plan.fieldCount + 1, memoryLimit: plan.memoryBudget / 4,
            path: scratchDirectory + "/positives")
        rejects = RejectLog(path: rejectsPath, enabled: plan.skipBadRows)
        record = [UInt32](repeating: 0, count: plan.fieldCount + 1)
        keyTuple = [UInt32](repeating: 0, count: plan.ruleKey.count)
    }

    /// Reads every data row of the inputs in order; throws `.input` for an empty first input, no data
    /// rows at all, or (unless bad rows are skipped) the first malformed row, naming its input.
    mutating func run() throws {
        try inputs.forEachRow { row, mapping, file in try consume(row, mapping, file) }
        guard counts.positives > 0 else {
            throw NFMError(.input, "no valid data rows (read \(counts.rowsRead))", at: .init(file: plan.inputName))
        }
    }

    /// One data row of input `file`, whose columns `mapping` locates: a rejected row, or a positive.
    @inline(__always)
    private mutating func consume(_ row: DelimitedReader.Record, _ mapping: HeaderMapping, _ file: String) throws {
        counts.rowsRead += 1
        if let problem = row.problem ?? mapping.fieldCountProblem(row) {
            try reject(row, problem, file)
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
            progress(.init(phase: .read, done: inputs.bytesRead, total: inputs.expectedBytes, rows: counts.rowsRead))
        }
    }

    /// A malformed row of input `file`: an error, or with `skipBadRows` a line of `rejects.tsv` (whose
    /// reason starts with `FILE: ` when the build reads several inputs, as its line is that file's).
    private mutating func reject(
        _ row: DelimitedReader.Record, _ problem: (line: Int, column: Int, message: String), _ file: String
    ) throws {
        try rejects.reject(row, problem, file: file, nameFile: inputs.paths.count > 1)
        counts.rowsRejected += 1
    }
}
