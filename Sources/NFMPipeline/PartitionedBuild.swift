import Foundation
import NFMFormat

/// The sampling build as the partitioned decomposition, run in one process on `plan.threads` threads:
/// scan every partition (`PartitionScan`), merge (`VocabularyMerge`), write the shards, and finish
/// (vocabularies, rejects, manifest). Shards are written by gathering (`gatherShards`: every positive
/// with its negatives in an `InstanceTable`, each position's instance found by the inverse permutation)
/// when no row is unsampleable and the table fits the memory budget; else by scattering
/// (`scatterShards`: every partition's instances placed into position-range buckets by
/// `PartitionPlacement`, each bucket's shards written by `BucketReduce`).
///
/// Byte identity with the single pass: partitions are record-aligned pieces in input order and are
/// merged in that order, so every vocabulary index, rule-key id, global row index (the negative stream)
/// and instance id (the position) is the single pass's; the threads only decide which partition or shard
/// is worked on when, never a number. Errors are taken in partition order: the first failing partition's
/// error, or its first bad row at its line in its input.
enum PartitionedBuild {
    /// Runs the build into `out` (already claimed) and returns the manifest, not yet written.
    static func run(_ plan: BuildPlan, _ inputs: InputSet, into out: String) throws -> DatasetManifest {
        let scratch = out + "/.scratch"
        try FileSystem.createDirectory(scratch)
        PartitionedBuild.returnLargeBlocksToTheSystem()
        var (partitions, speculated) = try inputs.partitions(chunk: chunkBytes(plan, inputs), speculative: true)
        let relay = ProgressRelay(plan.progress)
        let trace = PhaseTrace()
        var scanned = try scanAll(partitions, plan, inputs, scratch: scratch, relay: relay, speculated: speculated)
        if scanned == nil {
            // A quoted input cut as if it had no quote byte holds one: start again from the exact cuts.
            partitions = try inputs.partitions(chunk: chunkBytes(plan, inputs))
            scanned = try scanAll(partitions, plan, inputs, scratch: scratch, relay: relay, speculated: [])
        }
        // Taken out of `scanned`, so that the scans have one owner and `releaseStatistics` frees memory.
        guard case .some((var scans, let stored)) = scanned.take() else {
            throw NFMError(.io, "the inputs were not scanned")
        }
        trace.mark("scan")
        let merge = try VocabularyMerge(
            plan: plan, partitions: partitions, scans: scans, inputNames: inputs.names)
        for i in scans.indices { scans[i].releaseStatistics() }
        trace.mark("merge")
        let layout = merge.layout
        let shards =
            try gatherShards(plan, merge, scans, out: out, relay: relay, trace: trace)
            ?? scatterShards(plan, merge, scans, out: out, scratch: scratch, relay: relay)
        trace.mark("shards")
        for split in Split.allCases { try FileSystem.createDirectory(out + "/" + split.rawValue) }
        FileSystem.remove(scratch)
        let lineOffsets = VocabularyMerge.lineOffsets(partitions, lines: scans.map(\.lines))
        let rejects = RejectLog(path: out + "/" + DatasetBuilder.rejectsFile, enabled: plan.skipBadRows)
        for (scan, offset) in zip(scans, lineOffsets) {
            for reject in scan.rejects {
                rejects.add(line: reject.line + offset, column: reject.column, reason: reject.reason, escaped: reject.escaped)
            }
        }
        defer { trace.mark("finish") }
        return try DatasetBuilder.manifest(
            plan, merge.vocabularies, rejects, layout, shards, stored, out: out)
    }

    /// Places every partition's instances into position-range buckets (`PartitionPlacement`) and writes
    /// each bucket's shards (`BucketReduce`), one bucket after another; returns the shard records in order.
    static func scatterShards(
        _ plan: BuildPlan, _ merge: VocabularyMerge, _ scans: [PartitionScan], out: String, scratch: String,
        relay: ProgressRelay
    ) throws -> [DatasetManifest.Shard] {
        let layout = merge.layout
        let width = plan.fieldCount + 2
        let capacity = min(max(1, plan.memoryBudget / 2 / (width * 4)), Int(UInt32.max))
        let buckets = BucketLayout(
            total: layout.total, boundaries: layout.boundaries, rowsPerShard: plan.definition.shardRows, capacity: capacity)
        let sink: any InProcessSink =
            buckets.count == 1
            ? DirectSink(positions: buckets.positions(of: 0), fieldCount: plan.fieldCount)
            : SpillSink(buckets: buckets.count, width: width, memory: plan.memoryBudget / 4, scratch: scratch)
        let placed = LockedCounter()
        try ParallelTasks.forEach(count: scans.count, threads: plan.threads) { i in
            var placement = PartitionPlacement(
                plan: plan, layout: layout, buckets: buckets, remaps: merge.remaps[i], keyRemap: merge.keyRemaps[i],
                rowOffset: merge.rowOffsets[i], instanceOffset: merge.instanceOffsets[i], sink: sink)
            try placement.run(scans[i].rows, sampler: merge.sampler)
            let done = placed.add(placement.placed)
            relay.report(.init(phase: .sample, done: done, total: layout.total, rows: nil))
        }
        guard placed.value == layout.total else {
            throw NFMError(.sampling, "placed \(placed.value) instances, expected \(layout.total)")
        }
        var shards: [DatasetManifest.Shard] = []
        for bucket in 0..<buckets.count {
            let contents = try sink.load(bucket, positions: buckets.positions(of: bucket), fieldCount: plan.fieldCount)
            shards += try BucketReduce.writeShards(
                contents, bucket: bucket, layout: buckets, level: plan.definition.zstdLevel, directory: out,
                threads: plan.threads)
            relay.report(.init(phase: .write, done: buckets.positions(of: bucket).upperBound, total: layout.total, rows: nil))
        }
        return shards
    }

    /// Fixes glibc's mmap threshold at 256 KiB: its default moves up to 32 MiB after large blocks are freed,
    /// and then the build's freed partition buffers stay in the threads' heaps (10 M rows on 2 threads: peak
    /// 479 MB instead of 338 MB). Process-wide and harmless for the rest of nfm. (A 4 MiB threshold, which
    /// keeps the per-shard buffers in the heaps, saves page faults but not measurable time, and raised the
    /// 10 M-row peak from 339 to 389 MB.)
    static func returnLargeBlocksToTheSystem() {
        #if canImport(Glibc)
            // mallopt(M_MMAP_THRESHOLD = -3, bytes), looked up at run time (<malloc.h> is not in the Glibc module).
            typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
            _ = unsafeBitCast(symbol, to: Mallopt.self)(-3, 256 << 10)
        #endif
    }

    /// Bytes per partition: the hidden option when set; one partition per input with one thread; else about
    /// four partitions per thread plus one, between 1 MiB and 64 MiB. The one more: a split input's hash
    /// task reads the whole file and costs about one partition's scan; it starts first, so with 4T + 1
    /// partitions the threads run out of work together (3 M-row log, 2 threads: 9 partitions, scan ≈ 50 ms
    /// shorter than with 8, where one thread idled during the last partition).
    static func chunkBytes(_ plan: BuildPlan, _ inputs: InputSet) -> Int {
        if let chunk = plan.partitionBytes { return chunk }
        guard plan.threads > 1, let total = inputs.expectedBytes else { return Int.max }
        return min(64 << 20, max(1 << 20, total / (plan.threads * 4 + 1)))
    }

    /// Scans every partition and hashes every input cut into several; throws the first error in input
    /// order (a failing partition, or the first bad row). Returns the scans and the manifest's inputs, or nil
    /// when an input of `speculated` (cut as if it held no quote byte) turns out to hold one while hashed:
    /// its cuts may then split a quoted field, and no result of this scan is used.
    private static func scanAll(
        _ partitions: [BuildPartition], _ plan: BuildPlan, _ inputs: InputSet, scratch: String, relay: ProgressRelay,
        speculated: [Int]
    ) throws -> ([PartitionScan], [DatasetManifest.Input])? {
        let split = inputs.paths.indices.filter { input in partitions.count { $0.input == input } > 1 }
        let rowMemory = max(1 << 16, plan.memoryBudget / 4 / partitions.count)
        let bytes = LockedCounter()
        let rows = LockedCounter()
        // The hashes of split inputs are the first tasks (each reads a whole input: started last, one
        // would run alone after the partitions); results are kept by partition, then by hashed input.
        let hashes = split.count
        let memoryPool = ScanMemoryPool()
        let ordered = ParallelTasks.map(count: partitions.count + hashes, threads: plan.threads) {
            task -> PartitionScan? in
            guard task >= hashes else {
                let quote = speculated.contains(split[task]) ? inputs.format.quote : nil
                try Self.hash(inputs, split[task], lookingFor: quote, into: relay)
                return nil
            }
            let t = task - hashes
            var scan = PartitionScan(
                plan: plan, rowMemory: rowMemory, rowSpillPath: scratch + "/positives-\(t)", memoryPool: memoryPool)
            try scan.run(partitions[t], inputs: inputs, plan: plan) { n in
                let sofar = rows.add(n)
                relay.report(.init(phase: .read, done: bytes.value, total: inputs.expectedBytes, rows: sofar))
            }
            let partition = partitions[t]
            let size = try (partition.end ?? PositionedFile(path: inputs.paths[partition.input]).size()) - partition.start
            relay.report(.init(phase: .read, done: bytes.add(size), total: inputs.expectedBytes, rows: rows.value))
            return scan
        }
        if split.contains(where: { speculated.contains($0) && relay.holdsQuote($0) }) { return nil }
        let results = Array(ordered[hashes...]) + Array(ordered[..<hashes])
        return try inOrder(results, partitions, inputs, relay)
    }

    /// The scans of `results` (one per partition, then one per hashed input) in partition order, and the
    /// manifest's inputs; throws the first error in input order: a failing partition, or the first bad row
    /// at its line in its input (the lines of earlier ranges of the same input added).
    static func inOrder<Scan: PartitionOutcome>(
        _ results: [Result<Scan?, any Error>], _ partitions: [BuildPartition], _ inputs: InputSet,
        _ relay: ProgressRelay
    ) throws -> ([Scan], [DatasetManifest.Input]) {
        var scans: [Scan] = []
        var lineOffset = 0
        for (i, partition) in partitions.enumerated() {
            if i > 0 && partition.input != partitions[i - 1].input { lineOffset = 0 }
            guard let scan = try results[i].get() else { throw NFMError(.io, "partition \(i) was not scanned") }
            if let bad = scan.badRow {
                throw NFMError(
                    .input, file: inputs.names[partition.input], line: bad.line + lineOffset, column: bad.column,
                    bad.message)
            }
            lineOffset += scan.lines
            scans.append(scan)
        }
        for result in results[partitions.count...] { _ = try result.get() }
        let stored = try inputs.paths.indices.map { input in
            guard let first = partitions.firstIndex(where: { $0.input == input }),
                let record = scans[first].stored ?? relay.hashed(input)
            else { throw NFMError(.io, "input \(input) was not hashed", at: .init(file: inputs.names[input])) }
            return record
        }
        return (scans, stored)
    }

    /// The stored size and SHA-256 of input `input` (a plain file read in several partitions), and whether
    /// it holds the byte `quote` (when given: `memchr` over each chunk until one is found).
    static func hash(_ inputs: InputSet, _ input: Int, lookingFor quote: UInt8? = nil, into relay: ProgressRelay) throws {
        let file = try ReadableFile(path: inputs.paths[input])
        let sha = SHA256()
        var size = 0
        var found = false
        try file.forEachChunk(size: 1 << 20) { chunk in
            sha.update(chunk)
            size += chunk.count
            if let quote, !found, let base = chunk.baseAddress { found = memchr(base, Int32(quote), chunk.count) != nil }
        }
        relay.setHash(input, .init(name: inputs.names[input], bytes: size, sha256: sha.hexDigest()), holdsQuote: found)
    }
}

/// What the ordered check of a partition's scan reads: its first bad row, its lines and, for a whole
/// input, the input's stored size and hash.
protocol PartitionOutcome {
    var badRow: PartitionScan.BadRow? { get }
    var lines: Int { get }
    var stored: DatasetManifest.Input? { get }
}

extension PartitionScan: PartitionOutcome {}
extension LabelledPass: PartitionOutcome {}

/// A counter shared by threads.
final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var total = 0

    /// Adds `n`; returns the new total.
    @discardableResult func add(_ n: Int) -> Int { lock.withLock { total += n; return total } }
    var value: Int { lock.withLock { total } }
}

/// Progress reports from worker threads, passed on one at a time; also holds the inputs' hashes.
final class ProgressRelay: @unchecked Sendable {
    private let lock = NSLock()
    private let progress: ((DatasetBuilder.Progress) -> Void)?
    private var hashes: [Int: DatasetManifest.Input] = [:]
    private var quoted: Set<Int> = []

    init(_ progress: ((DatasetBuilder.Progress) -> Void)?) { self.progress = progress }

    func report(_ step: DatasetBuilder.Progress) {
        guard let progress else { return }
        lock.withLock { progress(step) }
    }

    func setHash(_ input: Int, _ record: DatasetManifest.Input, holdsQuote: Bool = false) {
        lock.withLock {
            hashes[input] = record
            if holdsQuote { quoted.insert(input) }
        }
    }
    func hashed(_ input: Int) -> DatasetManifest.Input? { lock.withLock { hashes[input] } }
    /// Whether the hash of input `input` found the quote byte it was asked to look for.
    func holdsQuote(_ input: Int) -> Bool { lock.withLock { quoted.contains(input) } }
}

/// A `BucketSink` of an in-process build that also hands each bucket back, loaded, for its reduce.
protocol InProcessSink: BucketSink {
    func load(_ bucket: Int, positions: Range<Int>, fieldCount: Int) throws -> BucketContents
}

/// One bucket holding every position: records are scattered into it as they come.
final class DirectSink: InProcessSink, @unchecked Sendable {
    private let contents: BucketContents

    init(positions: Range<Int>, fieldCount: Int) {
        contents = BucketContents(positions: positions, fieldCount: fieldCount)
    }

    func write(bucket: Int, records: UnsafeBufferPointer<UInt32>) throws {
        try contents.scatter(records, source: "memory")
    }

    var direct: BucketContents? { contents }

    func load(_ bucket: Int, positions: Range<Int>, fieldCount: Int) throws -> BucketContents { contents }
}

/// Several buckets: records are appended to each bucket's spill (in memory up to its share of the budget,
/// then in `.scratch/bucket-J`), and a bucket is scattered when loaded.
final class SpillSink: InProcessSink, @unchecked Sendable {
    private let spills: [RecordSpill]
    private let locks: [NSLock]

    init(buckets: Int, width: Int, memory: Int, scratch: String) {
        spills = (0..<buckets).map { b in
            RecordSpill(recordWidth: width, memoryLimit: max(width * 4, memory / buckets), path: scratch + "/bucket-\(b)")
        }
        locks = (0..<buckets).map { _ in NSLock() }
    }

    func write(bucket: Int, records: UnsafeBufferPointer<UInt32>) throws {
        try locks[bucket].withLock { try spills[bucket].append(records) }
    }

    func load(_ bucket: Int, positions: Range<Int>, fieldCount: Int) throws -> BucketContents {
        let contents = BucketContents(positions: positions, fieldCount: fieldCount)
        try spills[bucket].drain { try contents.scatter($0, source: "bucket-\(bucket)") }
        return contents
    }
}
