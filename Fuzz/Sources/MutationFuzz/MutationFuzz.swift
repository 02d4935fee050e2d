import Foundation
import FuzzTargets
import NFMTestSupport

/// Seeded mutation fuzzer: `MutationFuzz [--target NAME|all] [--executions N] [--seed S]` runs N mutants of
/// each target's seeds (1–4 mutations each, sometimes a crossover of two seeds; checkpoints also re-hashed)
/// and prints executions, accepted inputs and time. `MutationFuzz --write-corpus DIR` writes the seeds as
/// libFuzzer corpora `DIR/<target>/seed-N`. Any trap or foreign error aborts the process (a finding).
@main struct MutationFuzz {
    static func main() throws {
        var arguments = Array(CommandLine.arguments.dropFirst())
        func option(_ name: String) -> String? {
            guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count else { return nil }
            defer { arguments.removeSubrange(i...(i + 1)) }
            return arguments[i + 1]
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../..").standardized.path
        if let corpus = option("--write-corpus") {
            for target in FuzzTarget.allCases {
                let directory = corpus + "/" + target.rawValue
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                for (i, seed) in try target.seeds(packageRoot: root).enumerated() {
                    try Data(seed).write(to: URL(fileURLWithPath: directory + "/seed-\(i)"))
                }
            }
            return
        }
        let name = option("--target") ?? "all"
        let executions = option("--executions").flatMap { Int($0) } ?? 100_000
        let seed = option("--seed").flatMap { UInt64($0) } ?? 2017
        let targets = name == "all" ? FuzzTarget.allCases : [FuzzTarget(rawValue: name)].compactMap { $0 }
        guard !targets.isEmpty else { fatalError("unknown target \(name)") }
        for target in targets { try run(target, executions: executions, seed: seed, root: root) }
    }

    static func run(_ target: FuzzTarget, executions: Int, seed: UInt64, root: String) throws {
        let seeds = try target.seeds(packageRoot: root)
        var mutator = ByteMutator(seed: seed &+ UInt64(FuzzTarget.allCases.firstIndex(of: target)!))
        var accepted = 0
        let start = Date()
        for round in 0..<executions {
            var input = mutator.mutate(seeds[round % seeds.count])
            if mutator.below(16) == 0 {
                let other = seeds[mutator.below(seeds.count)]
                input = Array(input.prefix(mutator.below(input.count + 1)) + other.suffix(mutator.below(other.count + 1)))
            }
            if target == .checkpoint, round % 2 == 1, let rehashed = FuzzTarget.rehashedCheckpoint(input) { input = rehashed }
            if target == .shard, round % 2 == 1, let shard = FuzzTarget.recompressedShard(input) { input = shard }
            if target.run(input) { accepted += 1 }
        }
        let seconds = Date().timeIntervalSince(start)
        print("\(target.rawValue): \(executions) executions (\(accepted) accepted), seed \(seed), \(String(format: "%.2f", seconds)) s, 0 crashes")
    }
}
