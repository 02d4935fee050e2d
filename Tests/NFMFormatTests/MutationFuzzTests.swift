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
        let manifest = TestSupport.sampleManifest()
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
