import Foundation
import NFMFormat
import NFMTestSupport
import Testing

/// `nfm build-step`: the step CLI a distributed driver calls (one JSON object on each step's last line).
@Suite struct BuildStepCLITests {
    /// The last line of a step's standard output, parsed.
    func lastJSON(_ stdout: String) throws -> [String: Any] {
        let line = try #require(stdout.split(separator: "\n").last)
        return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    @Test func stepsPrintTheirCountsAndBuildWhatBuildBuilds() throws {
        let fixture = TestSupport.fixture("frappe-synthetic.tsv")
        let definition = TestSupport.pipeline("frappe.json")
        let d = TestSupport.temporaryDirectory("build-step")
        let (out, reference) = (d + "/steps", d + "/ref")
        let plan = try nfm(["build-step", "plan", definition, "--input", fixture, "--out", out, "--partition-mib", "1", "--memory-mib", "1"])
        #expect(plan.status == 0, "\(plan.stderr)")
        let partitions = try #require(try lastJSON(plan.stdout)["partitions"] as? Int)
        for i in 0..<partitions {
            let map = try nfm(["build-step", "map", out, "--partition", "\(i)"])
            let ok = try lastJSON(map.stdout)["ok"] as? Bool
            #expect(map.status == 0 && ok == true, "\(map.stderr)")
        }
        let merge = try nfm(["build-step", "merge", out])
        let merged = try lastJSON(merge.stdout)
        #expect(merged["instances"] as? Int == 9000)
        let buckets = try #require(merged["buckets"] as? Int)
        #expect(buckets == 1)
        for i in 0..<partitions { #expect(try nfm(["build-step", "place", out, "--partition", "\(i)"]).status == 0) }
        #expect(try nfm(["build-step", "reduce", out, "--bucket", "0"]).status == 0)
        let bad = try nfm(["build-step", "reduce", out, "--bucket", "\(buckets)"])
        #expect(bad.status == 2 && bad.stderr.contains("--bucket"))
        let finish = try nfm(["build-step", "finish", out])
        #expect(try lastJSON(finish.stdout)["instances"] as? Int == 9000)
        #expect(try nfm(["build", definition, "--input", fixture, "--out", reference, "--quiet"]).status == 0)
        #expect(TestSupport.snapshot(out) == TestSupport.snapshot(reference))
    }

    @Test func aStepWithoutItsInputsFailsWithItsExitCode() throws {
        let d = TestSupport.temporaryDirectory("build-step")
        let missing = try nfm(["build-step", "merge", d + "/nothing"])
        #expect(missing.status == 4 && missing.stderr.contains("plan.json"))
    }

    @Test func labelledStepsBuildWhatBuildBuilds() throws {
        let d = TestSupport.temporaryDirectory("build-step")
        let definition = TestSupport.write(
            """
            { "name": "labelled", "input": { "delimiter": ",", "header": true },
              "label": { "column": "y", "type": "real" },
              "fields": [ { "name": "x", "type": "numeric", "transform": "standardize" },
                          { "name": "c", "type": "categorical", "minCount": 2, "missing": "oov" },
                          { "name": "t", "type": "multi", "weight": "mean" } ],
              "split": { "train": 0.6, "validation": 0.2, "test": 0.2 }, "seed": 3, "shardRows": 40 }
            """, named: "labelled.json", in: d)
        let rows = (0..<500).map { r in "\(Double(r % 13) / 4),\(r * 7 % 101),c\(r % 37),t\(r % 5)|t\(r % 3)" }
        let fixture = TestSupport.write((["y,x,c,t"] + rows).joined(separator: "\n") + "\n", named: "log.csv", in: d)
        let (out, reference) = (d + "/steps", d + "/ref")
        let plan = try nfm(["build-step", "plan", definition, "--input", fixture, "--out", out, "--memory-mib", "1"])
        #expect(plan.status == 0, "\(plan.stderr)")
        let partitions = try #require(try lastJSON(plan.stdout)["partitions"] as? Int)
        for i in 0..<partitions { #expect(try nfm(["build-step", "map", out, "--partition", "\(i)"]).status == 0) }
        let merge = try nfm(["build-step", "merge", out])
        #expect(merge.status == 0, "\(merge.stderr)")
        let buckets = try #require(try lastJSON(merge.stdout)["buckets"] as? Int)
        for i in 0..<partitions { #expect(try nfm(["build-step", "place", out, "--partition", "\(i)"]).status == 0) }
        for j in 0..<buckets { #expect(try nfm(["build-step", "reduce", out, "--bucket", "\(j)"]).status == 0) }
        let finish = try nfm(["build-step", "finish", out])
        #expect(finish.status == 0, "\(finish.stderr)")
        #expect(try lastJSON(finish.stdout)["ok"] as? Bool == true)
        #expect(try nfm(["build", definition, "--input", fixture, "--out", reference, "--quiet"]).status == 0)
        let snapshot = TestSupport.snapshot(reference)
        #expect(snapshot.keys.contains("manifest.json") && TestSupport.snapshot(out) == snapshot)
    }

    @Test func mergeShardsPrintTheirValuesAndBuildWhatBuildBuilds() throws {
        let fixture = TestSupport.fixture("frappe-synthetic.tsv")
        let definition = TestSupport.pipeline("frappe.json")
        let d = TestSupport.temporaryDirectory("build-step")
        let (out, reference) = (d + "/steps", d + "/ref")
        let plan = try nfm(["build-step", "plan", definition, "--input", fixture, "--out", out, "--merge-shards", "3"])
        #expect(plan.status == 0, "\(plan.stderr)")
        let partitions = try #require(try lastJSON(plan.stdout)["partitions"] as? Int)
        for i in 0..<partitions { #expect(try nfm(["build-step", "map", out, "--partition", "\(i)"]).status == 0) }
        var values = 0
        for s in 0..<3 {
            let shard = try nfm(["build-step", "merge-shard", out, "--shard", "\(s)"])
            #expect(shard.status == 0, "\(shard.stderr)")
            values += try #require(try lastJSON(shard.stdout)["values"] as? Int)
        }
        #expect(values > 100)
        let outside = try nfm(["build-step", "merge-shard", out, "--shard", "3"])
        #expect(outside.status == 2 && outside.stderr.contains("--shard"))
        let shardFile = out + "/.steps/mshard/1.bin"
        let intact = try ReadableFile.readAll(shardFile)
        try FileSystem.writeAtomically(Array(intact.dropLast(1)), to: shardFile)
        let damaged = try nfm(["build-step", "merge", out])
        #expect(damaged.status == 4 && damaged.stderr.contains(shardFile))
        try FileSystem.writeAtomically(intact, to: shardFile)
        let merge = try nfm(["build-step", "merge", out])
        #expect(try lastJSON(merge.stdout)["instances"] as? Int == 9000)
        let buckets = try #require(try lastJSON(merge.stdout)["buckets"] as? Int)
        for i in 0..<partitions { #expect(try nfm(["build-step", "place", out, "--partition", "\(i)"]).status == 0) }
        for j in 0..<buckets { #expect(try nfm(["build-step", "reduce", out, "--bucket", "\(j)"]).status == 0) }
        #expect(try nfm(["build-step", "finish", out]).status == 0)
        #expect(try nfm(["build", definition, "--input", fixture, "--out", reference, "--quiet"]).status == 0)
        #expect(TestSupport.snapshot(out) == TestSupport.snapshot(reference))
    }

    @Test func tooManyMergeShardsAreRefused() throws {
        let d = TestSupport.temporaryDirectory("build-step")
        let plan = try nfm([
            "build-step", "plan", TestSupport.pipeline("frappe.json"), "--input", TestSupport.fixture("frappe-synthetic.tsv"),
            "--out", d + "/out", "--merge-shards", "0",
        ])
        #expect(plan.status == 64 && plan.stderr.contains("--merge-shards"), "\(plan.stderr)")
    }

    /// `merge --threads` and `reduce --threads` are checked as `nfm build --threads` is: a count outside
    /// 1…1024 is a usage error.
    @Test(arguments: ["0", "-3", "1025"])
    func stepThreadsOutOfRangeAreRefused(_ threads: String) throws {
        let d = TestSupport.temporaryDirectory("build-step")
        let merge = try nfm(["build-step", "merge", d + "/out", "--threads=\(threads)"])
        #expect(merge.status == 64 && merge.stderr.contains("--threads must be 1…1024"), "\(merge.stderr)")
        let reduce = try nfm(["build-step", "reduce", d + "/out", "--bucket", "0", "--threads=\(threads)"])
        #expect(reduce.status == 64 && reduce.stderr.contains("--threads must be 1…1024"), "\(reduce.stderr)")
    }
}
