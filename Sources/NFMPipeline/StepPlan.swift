import Foundation
import NFMFormat

/// `OUT/.steps/plan.json`: what every later step needs to redo the plan's validation and find its
/// partition. Its SHA-256 (first 8 bytes) is the plan id stamped on every step file, so files of another
/// plan are refused as stale.
struct StepPlan: Codable {
    /// A partition: the input, its byte range, its column mapping and whether it starts with the header.
    struct Part: Codable {
        var input: Int
        var start: Int
        var end: Int?
        var columnOfField: [Int]
        var expectedColumns: Int
        var skipsHeader: Bool
    }

    /// Size and SHA-256 of an input cut into several partitions (hashed once by the plan).
    struct Stored: Codable {
        var input: Int
        var name: String
        var bytes: Int
        var sha256: String
    }

    var format = "nfm-build-plan"
    var version = 1
    var definitionFile: String
    var definitionText: String
    var inputs: [String]
    var output: String
    var seed: UInt64?
    var rule: String?
    var skipBadRows: Bool
    var memoryBudget: Int
    var partitions: [Part]
    var hashed: [Stored]
    /// Merge shards R of a sharded merge; absent (nil) for the single merge task (R = 1).
    var mergeShards: Int?

    init(
        options: DatasetBuilder.Options, memoryBudget: Int, partitions: [BuildPartition], hashed: [Stored],
        mergeShards: Int = 1
    ) {
        self.mergeShards = mergeShards > 1 ? mergeShards : nil
        definitionFile = options.definition.sourceFile
        definitionText = options.definition.sourceText
        inputs = options.inputPaths
        output = options.outputDirectory
        seed = options.seed
        rule = options.rule
        skipBadRows = options.skipBadRows
        self.memoryBudget = memoryBudget
        self.partitions = partitions.map {
            Part(
                input: $0.input, start: $0.start, end: $0.end, columnOfField: $0.mapping.columnOfField,
                expectedColumns: $0.mapping.expectedColumns, skipsHeader: $0.skipsHeader)
        }
        self.hashed = hashed
    }

    func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return Array(try encoder.encode(self)) + [10]
    }
}

/// A step's view of the build: the plan re-validated, the partitions, and the step files' paths.
struct StepContext {
    let out: String
    let steps: String
    let stepPlan: StepPlan
    let plan: BuildPlan
    let partitions: [BuildPartition]
    let inputNames: [String]
    /// The plan id (see `StepPlan`).
    let id: UInt64
    /// Merge shards (1: the single merge task).
    let mergeShards: Int

    static func planPath(_ out: String) -> String { out + "/.steps/plan.json" }

    /// Loads `OUT/.steps/plan.json`; `.dataset` naming it when it is missing or damaged.
    init(out: String) throws {
        self.out = out
        steps = out + "/.steps"
        let path = StepContext.planPath(out)
        guard let bytes = try? ReadableFile.readAll(path) else {
            throw NFMError(.dataset, "missing plan (run nfm build-step plan first)", at: .init(file: path))
        }
        let decoded: StepPlan
        do { decoded = try JSONDecoder().decode(StepPlan.self, from: Data(bytes)) } catch {
            throw NFMError(.dataset, "damaged plan: \(error)", at: .init(file: path))
        }
        guard decoded.format == "nfm-build-plan", decoded.version == 1 else {
            throw NFMError(.dataset, "not a build plan of version 1", at: .init(file: path))
        }
        stepPlan = decoded
        mergeShards = decoded.mergeShards ?? 1
        guard (1...MergeShard.maximum).contains(mergeShards) else {
            throw NFMError(.dataset, "damaged plan: merge shards out of range", at: .init(file: path))
        }
        let digest = SHA256.hexDigest(of: bytes)
        id = UInt64(digest.prefix(16), radix: 16) ?? 0
        var definition = try DatasetDefinition.parse(text: decoded.definitionText, file: decoded.definitionFile)
        definition.sourceFile = decoded.definitionFile
        var options = DatasetBuilder.Options(definition: definition, inputPaths: decoded.inputs, outputDirectory: out)
        options.seed = decoded.seed
        options.rule = decoded.rule
        options.skipBadRows = decoded.skipBadRows
        options.memoryBudget = decoded.memoryBudget
        plan = try BuildPlan(options)
        inputNames = decoded.inputs.map(InputSet.name(of:))
        partitions = try decoded.partitions.map { part in
            guard decoded.inputs.indices.contains(part.input), part.start >= 0,
                part.columnOfField.allSatisfy({ $0 >= 0 && $0 < part.expectedColumns }),
                part.columnOfField.count == definition.fields.count + (definition.label == nil ? 0 : 1)
            else { throw NFMError(.dataset, "damaged plan: a partition is out of range", at: .init(file: path)) }
            return BuildPartition(
                input: part.input, start: part.start, end: part.end,
                mapping: HeaderMapping(columnOfField: part.columnOfField, expectedColumns: part.expectedColumns),
                skipsHeader: part.skipsHeader)
        }
    }

    /// Partition `index`, or `.usage` when there is none.
    func partition(_ index: Int) throws -> BuildPartition {
        guard partitions.indices.contains(index) else {
            throw NFMError(.usage, "--partition must be in 0..<\(partitions.count)")
        }
        return partitions[index]
    }

    /// Partition `index`'s scan (without its rows).
    func scan(_ index: Int) throws -> PartitionScan {
        var reader = try StepFile.read(steps + "/map/\(index).scan", kind: "SCAN", plan: id)
        return try StepCodec.decodeScan(&reader, plan: plan)
    }

    /// The merge's state.
    func state() throws -> MergeState {
        var reader = try StepFile.read(steps + "/merge/state.bin", kind: "MRGE", plan: id)
        return try StepCodec.decodeState(&reader, plan: plan, partitions: partitions.count, sharded: mergeShards > 1)
    }

    /// The buckets of the merged build.
    func buckets(_ state: MergeState) -> BucketLayout {
        BucketLayout(
            total: state.layout.total, boundaries: state.layout.boundaries, rowsPerShard: plan.definition.shardRows,
            capacity: state.capacity)
    }
}

extension HeaderMapping {
    /// A mapping read back from a build plan.
    init(columnOfField: [Int], expectedColumns: Int) {
        self.columnOfField = columnOfField
        self.expectedColumns = expectedColumns
    }
}
