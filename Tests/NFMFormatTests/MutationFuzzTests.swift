import Foundation
import NFMFormat
import NFMTestSupport
import Testing

/// A seeded mutation fuzz smoke test (the long runs are in `Fuzz/`, see RELIABILITY.md): 2,000 mutants per
/// parser from a fixed seed. Each must give a value or an `NFMError`; a trap would crash the test run.
@Suite struct MutationFuzzTests {
    static let rounds = 2_000

    @Test func shardDecoderNeverTraps() throws {
        var fixed = ShardBlock(fieldCount: 3)
        for r in 0..<64 {
            [UInt32(r % 5), UInt32(5 + r % 200), UInt32(300 + r * 1_000)].withUnsafeBufferPointer {
                fixed.append(label: r % 2 == 0 ? 1 : -1, features: $0)
            }
        }
        var sparse = ShardBlock()
        for r in 0..<16 { sparse.append(label: 1, indices: (0..<UInt32(r % 3)).map { $0 + 1 }, values: Array(repeating: 0.5, count: r % 3)) }
        let seeds = [try ShardCodec.encode(fixed, level: 1), try ShardCodec.encode(sparse, level: 1)]
        var mutator = ByteMutator(seed: 0x5348_4152)
        var accepted = 0
        for round in 0..<Self.rounds {
            let input = mutator.mutate(seeds[round % 2])
            do {
                let block = try ShardCodec.decode(input, name: "fuzz")
                let finite = block.labels.allSatisfy { $0.isFinite }
                #expect(finite)
                accepted += 1
            } catch let error as NFMError {
                #expect(error.code == .corruptShard && error.position?.file == "fuzz")
            }
        }
        #expect(accepted < Self.rounds / 10)
    }

    static func sampleManifest() throws -> [UInt8] {
        let fields = (0..<3).map {
            DatasetManifest.Field(name: "f\($0)", offset: 10 * $0, cardinality: 10, vocabulary: "vocab/0\($0)-f\($0).tsv")
        }
        let digest = String(repeating: "ab", count: 32)
        var counts = DatasetManifest.Counts()
        (counts.train, counts.validation, counts.test) = (70, 20, 10)
        let manifest = DatasetManifest(
            tool: ToolInfo.name, name: "fuzz", definition: .init(file: "d.json", sha256: digest, text: "{}"), seed: 1,
            negativeRule: "user", inputs: [.init(name: "in.tsv", bytes: 10, sha256: digest)], counts: counts,
            labels: .init(positive: 1, negative: -1), layout: .fixed, fields: fields, featureCount: 30,
            files: fields.map { .init(path: $0.vocabulary, bytes: 5, sha256: digest) },
            shards: [
                .init(split: .train, file: "train/part-00000.nfms", rows: 70, bytes: 100, sha256: digest),
                .init(split: .validation, file: "validation/part-00000.nfms", rows: 20, bytes: 60, sha256: digest),
                .init(split: .test, file: "test/part-00000.nfms", rows: 10, bytes: 55, sha256: digest),
            ])
        #expect(manifest.consistencyProblems(file: "m").isEmpty)
        return try manifest.encoded()
    }

    @Test func manifestParserNeverTraps() throws {
        let seed = try Self.sampleManifest()
        var mutator = ByteMutator(seed: 0x4D41_4E49)
        var consistent = 0
        for _ in 0..<Self.rounds {
            do {
                let manifest = try DatasetManifest.decode(mutator.mutate(seed), file: "manifest.json")
                let problems = manifest.consistencyProblems(file: "manifest.json")
                #expect(problems.allSatisfy { $0.code == .manifest && $0.position?.field != nil })
                if problems.isEmpty { consistent += 1 }
            } catch let error as NFMError {
                #expect(error.code == .manifest && error.description.utf8.count < 600)
            }
        }
        #expect(consistent < Self.rounds)
    }
}
