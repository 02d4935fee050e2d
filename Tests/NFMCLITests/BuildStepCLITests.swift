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

    @Test func aStepWithoutItsInputsOrALabelledPlanFailsWithItsExitCode() throws {
        let d = TestSupport.temporaryDirectory("build-step")
        let missing = try nfm(["build-step", "merge", d + "/nothing"])
        #expect(missing.status == 4 && missing.stderr.contains("plan.json"))
        let labelled = try nfm([
            "build-step", "plan", TestSupport.pipeline("movielens-ratings.json"), "--input",
            TestSupport.fixture("movielens-synthetic.csv"), "--out", d + "/out",
        ])
        #expect(labelled.status == 2 && labelled.stderr.contains("label column"))
        #expect(!FileSystem.exists(d + "/out"))
    }
}
