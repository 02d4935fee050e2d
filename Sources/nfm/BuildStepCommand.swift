import ArgumentParser
import Foundation
import NFMFormat
import NFMPipeline

/// `nfm build-step`: the partitioned build as separate steps over shared storage (for a distributed
/// engine). Each step prints one JSON object on its last line of standard output.
struct BuildStep: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build-step",
        abstract: "Run one step of a partitioned build (plan, map, merge-shard, merge, place, reduce, finish).",
        discussion: """
            Run in order: plan; map for every partition (independent); with plan --merge-shards R > 1, \
            merge-shard for every shard 0..<R (independent); merge; place for every partition \
            (independent); reduce for every bucket (independent); finish. The steps exchange files in \
            OUT/.steps (input paths must be visible to every worker) and the finished dataset is \
            byte-identical to nfm build's. Steps may be rerun (outputs are replaced atomically). A bad \
            input row surfaces at merge, as nfm build reports it.
            """,
        subcommands: [Plan.self, Map.self, MergeShard.self, Merge.self, Place.self, Reduce.self, Finish.self])

    /// Prints `object` as one line of JSON (sorted keys).
    static func printJSON(_ object: [String: Int]) {
        let body = object.keys.sorted().map { "\"\($0)\": \(object[$0]!)" }.joined(separator: ", ")
        print("{" + body + "}")
    }

    /// The `--threads` check of `merge` and `reduce`, as `nfm build` checks its own.
    static func validateThreads(_ threads: Int) throws {
        guard (1...1024).contains(threads) else { throw ValidationError("--threads must be 1…1024") }
    }

    struct Plan: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "plan", abstract: "Validate, claim OUT and cut the inputs into partitions.")
        @Argument(help: "The pipeline definition.") var definition: String
        @Option(help: "A raw log file (repeatable, globs allowed; no standard input).") var input: [String] = []
        @Option(help: "The output dataset directory.") var out: String
        @Option(help: "Seed for negatives, split and order (default: the definition's).") var seed: UInt64?
        @Option(help: "Negative-sampling rule.") var rule: String?
        @Option(help: "MiB per partition of a large plain input (default 64).") var partitionMib: Int = 64
        @Option(help: "MiB of instances a reduce step holds (bucket size; default 256).") var memoryMib: Int = 256
        @Option(help: "Merge shards R (default 1: one merge task; R > 1: merge-shard 0..<R, then merge).")
        var mergeShards: Int = 1
        @Flag(help: "Count malformed rows and list them in rejects.tsv instead of stopping.") var skipBadRows = false
        @Flag(help: "Replace an output directory that nfm wrote.") var force = false

        func validate() throws {
            guard (1...(1 << 20)).contains(partitionMib) else { throw ValidationError("--partition-mib must be 1…1048576") }
            guard (1...(1 << 20)).contains(memoryMib) else { throw ValidationError("--memory-mib must be 1…1048576") }
            guard (1...4096).contains(mergeShards) else { throw ValidationError("--merge-shards must be 1…4096") }
        }

        func run() throws {
            try runMapped {
                let loaded = try DatasetDefinition.load(path: definition)
                var options = DatasetBuilder.Options(
                    definition: loaded, inputPaths: try InputPatterns.expand(input), outputDirectory: out)
                options.definitionPath = definition
                options.seed = seed
                options.rule = rule
                options.force = force
                options.skipBadRows = skipBadRows
                options.memoryBudget = memoryMib << 20
                let partitions = try BuildSteps.plan(options, partitionBytes: partitionMib << 20, mergeShards: mergeShards)
                BuildStep.printJSON(["partitions": partitions])
            }
        }
    }

    struct Map: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "map", abstract: "Scan one partition.")
        @Argument(help: "The output directory of the plan.") var out: String
        @Option(help: "The partition (0-based).") var partition: Int
        func run() throws {
            try runMapped {
                var result = try BuildSteps.map(out: out, partition: partition)
                result["ok"] = 1
                BuildStep.printOK(result)
            }
        }
    }

    struct MergeShard: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "merge-shard", abstract: "Merge one hash range of every field's values (plan --merge-shards R).")
        @Argument(help: "The output directory of the plan.") var out: String
        @Option(help: "The merge shard (0-based, below the plan's --merge-shards).") var shard: Int
        func run() throws {
            try runMapped {
                let (values, references) = try BuildSteps.mergeShard(out: out, shard: shard)
                BuildStep.printOK(["values": values, "references": references])
            }
        }
    }

    struct Merge: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "merge", abstract: "Merge the partitions' vocabularies and statistics.")
        @Argument(help: "The output directory of the plan.") var out: String
        @Option(help: "Threads resolving partitions' tables when the plan has merge shards.")
        var threads: Int = ProcessInfo.processInfo.activeProcessorCount
        func validate() throws { try BuildStep.validateThreads(threads) }
        func run() throws {
            try runMapped {
                let (buckets, instances) = try BuildSteps.merge(out: out, threads: threads)
                BuildStep.printJSON(["buckets": buckets, "instances": instances])
            }
        }
    }

    struct Place: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "place", abstract: "Sample and place one partition's instances.")
        @Argument(help: "The output directory of the plan.") var out: String
        @Option(help: "The partition (0-based).") var partition: Int
        func run() throws {
            try runMapped {
                let placed = try BuildSteps.place(out: out, partition: partition)
                BuildStep.printOK(["instances": placed])
            }
        }
    }

    struct Reduce: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reduce", abstract: "Write the shards of one bucket.")
        @Argument(help: "The output directory of the plan.") var out: String
        @Option(help: "The bucket (0-based).") var bucket: Int
        @Option(help: "Threads compressing shards.") var threads: Int = ProcessInfo.processInfo.activeProcessorCount
        func validate() throws { try BuildStep.validateThreads(threads) }
        func run() throws {
            try runMapped {
                let shards = try BuildSteps.reduce(out: out, bucket: bucket, threads: threads)
                BuildStep.printOK(["shards": shards])
            }
        }
    }

    struct Finish: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "finish", abstract: "Write vocabularies, rejects and the manifest.")
        @Argument(help: "The output directory of the plan.") var out: String
        func run() throws {
            try runMapped {
                let manifest = try BuildSteps.finish(out: out)
                BuildStep.printOK(["instances": manifest.counts.instances, "shards": manifest.shards.count])
            }
        }
    }

    /// Prints `{"ok": true, …counts}`.
    static func printOK(_ counts: [String: Int]) {
        let body = counts.keys.filter { $0 != "ok" }.sorted().map { "\"\($0)\": \(counts[$0]!)" }
        print("{" + (["\"ok\": true"] + body).joined(separator: ", ") + "}")
    }
}
