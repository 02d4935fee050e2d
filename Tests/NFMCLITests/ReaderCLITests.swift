import Foundation
import NFMFormat
import NFMTestSupport
import Testing

/// `nfm verify`, `inspect` and the readers of `train`/`evaluate` as a user meets them.
@Suite struct ReaderCLITests {
    func dataset() throws -> String {
        let out = TestSupport.temporaryDirectory() + "/ds"
        let build = try nfm(["build", TestSupport.pipeline("frappe.json"), "--input", TestSupport.fixture("frappe-synthetic.tsv"), "--out", out, "--quiet"])
        #expect(build.status == 0)
        return out
    }

    @Test func verifyOfAMissingDirectorySaysSo() throws {
        let missing = TestSupport.temporaryDirectory() + "/nothere"
        let result = try nfm(["verify", missing])
        #expect(result.status == NFMError.Code.io.exitCode)
        #expect(result.stderr == "error: \(missing): no such directory\n")
    }

    @Test func verifyReportsKindsInWordsAndAsJSON() throws {
        let out = try dataset()
        #expect(try nfm(["inspect", out]).stdout.contains("validation 1 shard, 1800 rows,"))
        let ok = try nfm(["verify", out, "--json"])
        #expect(ok.status == 0 && ok.stdout.contains("\"valid\" : true"))
        let shard = out + "/train/part-00000.nfms"
        var bytes = try ReadableFile.readAll(shard)
        bytes[200] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: shard))
        let text = try nfm(["verify", out])
        #expect(text.status == 4)
        #expect(text.stderr.contains("train/part-00000.nfms: checksum mismatch — "))
        #expect(text.stderr.hasSuffix("error: verify failed: 1 problem in \(out)\n"))
        let json = try nfm(["verify", out, "--json"])
        #expect(json.status == 4)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let problems = try #require(report["problems"] as? [[String: String]])
        #expect(problems == [["path": "train/part-00000.nfms", "kind": "checksum mismatch", "detail": problems.first?["detail"] ?? ""]])
        #expect(report["valid"] as? Bool == false)
    }

    @Test func trainRefusesACorruptShardAndAnEditedManifest() throws {
        let out = try dataset()
        let run = TestSupport.temporaryDirectory() + "/run"
        let shard = out + "/test/part-00000.nfms"
        let original = try ReadableFile.readAll(shard)
        var bytes = original
        bytes[bytes.count - 20] ^= 0x04
        try Data(bytes).write(to: URL(fileURLWithPath: shard))
        for stream in [[], ["--stream"]] {
            let train = try nfm(["train", out, "--model", "lr", "--epochs", "1", "--out", run, "--quiet"] + stream)
            #expect(train.status == NFMError.Code.corruptShard.exitCode)
            #expect(train.stderr.contains("\(shard): field sha256 = "))
        }
        try Data(original).write(to: URL(fileURLWithPath: shard))
        let manifest = out + "/manifest.json"
        let text = try String(contentsOfFile: manifest, encoding: .utf8)
        try text.replacingOccurrences(of: "\"featureCount\" : 239", with: "\"featureCount\" : 240").write(toFile: manifest, atomically: true, encoding: .utf8)
        let edited = try nfm(["train", out, "--model", "lr", "--epochs", "1", "--out", run, "--quiet"])
        #expect(edited.status == NFMError.Code.manifest.exitCode)
        #expect(edited.stderr.contains("manifest.sha256") && edited.stderr.contains("checksum mismatch"))
    }
}
