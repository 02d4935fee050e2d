import NFMFormat

/// What the merge step hands to place, reduce and finish (`merge/state.bin`).
struct MergeState {
    let layout: DatasetLayout
    /// The global positive pairs.
    let pairs: PairTable
    let rowOffsets: [Int]
    let instanceOffsets: [Int]
    /// Lines of each partition (line offsets of rejects).
    let lines: [Int]
    /// Positions per bucket.
    let capacity: Int

    /// The sampler over the global pairs.
    func sampler(_ plan: BuildPlan) -> NegativeSampler {
        NegativeSampler(perPositive: plan.perPositive, seed: plan.seed, pairs: pairs)
    }
}

/// Payloads of the `SCAN` and `MRGE` step files (field by field, in declaration order).
enum StepCodec {
    /// `SCAN`: rowsRead, rowsRejected, positives, lines; bad row (flag, line, column, message); rejects
    /// (count; line, column, reason, escaped record); stored input (flag, name, bytes, sha256); field count
    /// and vocabularies; keys; pairs.
    static func encode(_ scan: PartitionScan) -> StepWriter {
        var w = StepWriter()
        for n in [scan.rowsRead, scan.rowsRejected, scan.positives, scan.lines] { w.u64(n) }
        w.scanOutcome(badRow: scan.badRow, rejects: scan.rejects, stored: scan.stored)
        w.u64(scan.fieldValues.count)
        for v in scan.fieldValues { w.values(v) }
        w.values(scan.keyValues)
        w.longs(scan.pairs)
        return w
    }

    static func decodeScan(_ r: inout StepReader, plan: BuildPlan) throws -> PartitionScan {
        var scan = PartitionScan(plan: plan, rowMemory: 1 << 41, rowSpillPath: "")
        scan.rowsRead = try r.int()
        scan.rowsRejected = try r.int()
        scan.positives = try r.int()
        scan.lines = try r.int()
        (scan.badRow, scan.rejects, scan.stored) = try r.scanOutcome()
        guard try r.int() == plan.fieldCount else {
            throw NFMError(.dataset, "damaged step file: field count", at: .init(file: r.path))
        }
        scan.fieldValues = try (0..<plan.fieldCount).map { _ in try r.values() }
        scan.keyValues = try r.values()
        scan.pairs = try r.longs()
        try checkScan(scan, path: r.path, plan: plan)
        return scan
    }

    /// Every local index a scan refers to exists.
    private static func checkScan(_ scan: PartitionScan, path: String, plan: BuildPlan) throws {
        let values = UInt64(scan.fieldValues[plan.corrupted].count)
        let keys = UInt64(scan.keyValues.count)
        for pair in scan.pairs where pair >> 32 >= keys || pair & 0xFFFF_FFFF >= values {
            throw NFMError(.dataset, "damaged step file: a pair outside the vocabularies", at: .init(file: path))
        }
        for key in 0..<scan.keyValues.count where scan.keyValues.withValue(at: key, { $0.count }) != 4 * plan.ruleKey.count {
            throw NFMError(.dataset, "damaged step file: a rule key of the wrong width", at: .init(file: path))
        }
    }

    /// `MRGE`: offsets, featureCount, unsampleable keys (bytes), valueCount, the eight counts, total, the two
    /// split boundaries, the pair table (offsets, values), rowOffsets, instanceOffsets, lines, capacity.
    static func encode(_ s: MergeState) -> StepWriter {
        var w = StepWriter()
        let l = s.layout
        w.ints(l.offsets)
        w.u64(l.featureCount)
        w.bytes(l.unsampleableKeys.map { $0 ? 1 : 0 })
        w.u64(l.valueCount)
        w.split(counts: l.counts, total: l.total, boundaries: l.boundaries)
        w.ints(s.pairs.offsets)
        w.words(s.pairs.values)
        w.ints(s.rowOffsets)
        w.ints(s.instanceOffsets)
        w.ints(s.lines)
        w.u64(s.capacity)
        return w
    }

    /// Reads `MRGE`; with `sharded` (a sharded merge: pairs in `merge/pairs-I.bin`) its pair table must be empty.
    static func decodeState(_ r: inout StepReader, plan: BuildPlan, partitions: Int, sharded: Bool = false) throws -> MergeState {
        let offsets = try r.ints()
        let featureCount = try r.int()
        let unsampleable = try r.bytes().map { $0 != 0 }
        let valueCount = try r.int()
        let (c, total, (b0, b1)) = try r.split()
        let layout = DatasetLayout(
            offsets: offsets, featureCount: featureCount, unsampleableKeys: unsampleable, valueCount: valueCount,
            counts: c, total: total, boundaries: (b0, b1))
        guard let pairs = PairTable(offsets: try r.ints(), values: try r.words()),
            pairs.keyCount == (sharded ? 0 : unsampleable.count)
        else { throw NFMError(.dataset, "damaged step file: pair table", at: .init(file: r.path)) }
        let state = MergeState(
            layout: layout, pairs: pairs, rowOffsets: try r.ints(), instanceOffsets: try r.ints(),
            lines: try r.ints(), capacity: try r.int(limit: Int(UInt32.max)))
        guard offsets.count == plan.fieldCount, state.rowOffsets.count == partitions,
            state.instanceOffsets.count == partitions, state.lines.count == partitions, state.capacity >= 1,
            total > 0, b0 <= b1, r.isAtEnd
        else { throw NFMError(.dataset, "damaged step file: merge state", at: .init(file: r.path)) }
        return state
    }
}

/// What a partition's scan found besides its rows, as both scan files (`SCAN`, `LSCN`) store it.
extension StepWriter {
    /// Bad row (flag; line, column, message); rejects (count; line, column, reason, escaped record);
    /// stored input (flag; name, bytes, sha256).
    mutating func scanOutcome(
        badRow: PartitionScan.BadRow?, rejects: [PartitionScan.Reject], stored: DatasetManifest.Input?
    ) {
        bool(badRow != nil)
        if let badRow {
            u64(badRow.line)
            u64(badRow.column)
            string(badRow.message)
        }
        u64(rejects.count)
        for r in rejects {
            u64(r.line)
            u64(r.column)
            string(r.reason)
            self.bytes(r.escaped)
        }
        bool(stored != nil)
        if let stored {
            string(stored.name)
            u64(stored.bytes)
            string(stored.sha256)
        }
    }
}

extension StepWriter {
    /// The eight counts of the manifest, the instance total and the two cumulative split boundaries, as
    /// both merge-state files (`MRGE`, `LMRG`) store them.
    mutating func split(counts c: DatasetManifest.Counts, total: Int, boundaries: (Int, Int)) {
        for n in [c.rowsRead, c.rowsRejected, c.positives, c.negatives, c.unsampleableRows, c.train, c.validation, c.test] {
            u64(n)
        }
        u64(total)
        u64(boundaries.0)
        u64(boundaries.1)
    }
}

extension StepReader {
    /// Reads what `StepWriter.split` wrote; each boundary is at most the total.
    mutating func split() throws -> (DatasetManifest.Counts, Int, (Int, Int)) {
        var c = DatasetManifest.Counts()
        c.rowsRead = try int()
        c.rowsRejected = try int()
        c.positives = try int()
        c.negatives = try int()
        c.unsampleableRows = try int()
        c.train = try int()
        c.validation = try int()
        c.test = try int()
        let total = try int(limit: 1 << 62)
        return (c, total, (try int(limit: total), try int(limit: total)))
    }

    /// Reads what `StepWriter.scanOutcome` wrote.
    mutating func scanOutcome() throws -> (PartitionScan.BadRow?, [PartitionScan.Reject], DatasetManifest.Input?) {
        let badRow = try bool() ? PartitionScan.BadRow(line: try int(), column: try int(), message: try string()) : nil
        var rejects: [PartitionScan.Reject] = []
        for _ in 0..<(try int(limit: 1 << 40)) {
            rejects.append(.init(line: try int(), column: try int(), reason: try string(), escaped: try bytes()))
        }
        let stored = try bool() ? DatasetManifest.Input(name: try string(), bytes: try int(), sha256: try string()) : nil
        return (badRow, rejects, stored)
    }
}

extension StepContext {
    /// Writes the unsharded merge's global vocabularies to `merge/vocab.bin` (`VOCB`: their count, then
    /// each vocabulary), for both kinds of definition.
    func writeMergedVocabularies(_ vocabularies: [Vocabulary]) throws {
        var w = StepWriter()
        w.u64(vocabularies.count)
        for vocabulary in vocabularies { w.vocabulary(vocabulary) }
        try StepFile.write(w, kind: "VOCB", plan: id, to: steps + "/merge/vocab.bin")
    }

    /// Reads `merge/vocab.bin`: one vocabulary per field; `.dataset` naming the file otherwise.
    func readMergedVocabularies() throws -> [Vocabulary] {
        var r = try StepFile.read(steps + "/merge/vocab.bin", kind: "VOCB", plan: id)
        guard try r.int() == plan.fieldCount else {
            throw NFMError(.dataset, "damaged step file: field count", at: .init(file: r.path))
        }
        return try (0..<plan.fieldCount).map { _ in try r.vocabulary() }
    }
}
