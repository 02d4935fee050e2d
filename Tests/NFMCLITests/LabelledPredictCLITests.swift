import Foundation
import NFMFormat
import NFMTestSupport
import Testing

/// End to end on labelled logs: `nfm build` → `nfm train --loss log` (2 epochs) → `nfm predict --input`
/// on the raw log writes one probability per row — for a small mixed CSV (plain, gzip, zstd and standard
/// input give the same predictions) and for DeepCTR's Criteo sample with `pipelines/criteo.json`.
@Suite struct LabelledPredictCLITests {
    static let samples = TestSupport.packageRoot + "/../shared/datasets/deepctr-samples"

    static let definition = """
        { "name": "mixed", "input": { "delimiter": "," },
          "label": { "column": "click", "type": "binary" },
          "fields": [
            { "name": "site", "minCount": 3, "missing": "oov" },
            { "name": "cnt", "type": "numeric", "transform": "log1p", "missing": "own-value" },
            { "name": "price", "type": "numeric", "transform": "standardize" },
            { "name": "tags", "type": "multi", "weight": "mean" } ] }
        """

    static func log(rows: Int) -> String {
        var text = "click,site,cnt,price,tags\n"
        for r in 0..<rows {
            let site = r % 7 == 0 ? "once\(r)" : r % 11 == 0 ? "" : "s\(r % 5)"
            let cnt = r % 4 == 0 ? "" : r % 3 == 0 ? "-\(r % 9)" : "\(r % 13)"
            let price = r % 6 == 0 ? "" : String(format: "%.2f", Double((r * 37) % 101) / 7 - 5)
            let tags = ["", "a", "a|b", "b||c", "c|a|a"][r % 5]
            text += "\((r * 7) % 3 == 0 ? 1 : 0),\(site),\(cnt),\(price),\(tags)\n"
        }
        return text
    }

    static func expectSuccess(_ arguments: [String]) throws -> (stdout: String, stderr: String) {
        let result = try nfm(arguments)
        guard result.status == 0 else { throw NFMError(.io, "nfm \(arguments.joined(separator: " ")): \(result.stderr)") }
        return (result.stdout, result.stderr)
    }

    /// Builds, trains an FM with log loss for 2 epochs and returns the checkpoint and the training output.
    static func buildAndTrain(definition: String, input: String, in root: String) throws -> (checkpoint: String, train: String) {
        _ = try expectSuccess(["build", definition, "--input", input, "--out", root + "/ds", "--quiet"])
        let train = try expectSuccess([
            "train", root + "/ds", "--model", "fm", "--factors", "4", "--loss", "log", "--epochs", "2", "--out", root + "/run",
        ])
        return (root + "/run/model.nfmc", train.stderr + train.stdout)
    }

    /// The `line<TAB>prediction` rows of `predict` output (after its header line).
    static func predictions(_ text: String) throws -> [(line: Int, p: Double)] {
        let lines = text.split(separator: "\n")
        #expect(lines.first == "line\tprediction")
        return try lines.dropFirst().map { line in
            let parts = line.split(separator: "\t")
            return (try #require(Int(parts[0])), try #require(Double(parts[1])))
        }
    }

    @Test func buildTrainPredictWritesOneProbabilityPerRow() throws {
        let root = TestSupport.temporaryDirectory("labelled-predict")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let rows = 300
        let raw = TestSupport.write(Self.log(rows: rows), named: "log.csv", in: root)
        let definition = TestSupport.write(Self.definition, named: "mixed.json", in: root)
        let (checkpoint, train) = try Self.buildAndTrain(definition: definition, input: raw, in: root)
        #expect(train.contains("auc"), "\(train)")
        let run = try Self.expectSuccess(["predict", checkpoint, "--input", raw, "--unseen", "fail", "--precision", "9", "--json"])
        let predicted = try Self.predictions(run.stdout)
        #expect(predicted.map(\.line) == Array(2..<(rows + 2)))
        #expect(predicted.allSatisfy { (0...1).contains($0.p) })
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(run.stderr.utf8)) as? [String: Any])
        #expect(summary["written"] as? Int == rows && summary["rows_with_unseen"] as? Int == 0)
        let oov = try #require(summary["oov_by_field"] as? [String: Int])
        #expect(oov["site"] == (0..<rows).filter { $0 % 7 == 0 || $0 % 11 == 0 }.count)
        // gzip and zstd files and standard input predict the same.
        let compressed = root + "/log.csv.zst"
        try FileSystem.writeAtomically(try Array(Self.log(rows: rows).utf8).withUnsafeBytes { try Zstd.compress($0, level: 3) }, to: compressed)
        var inputs = [compressed]
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/gzip") || FileManager.default.isExecutableFile(atPath: "/bin/gzip") {
            let gzip = Process()
            gzip.executableURL = URL(fileURLWithPath: "/bin/sh")
            gzip.arguments = ["-c", "gzip -c '\(raw)' > '\(raw).gz'"]
            try gzip.run()
            gzip.waitUntilExit()
            if gzip.terminationStatus == 0 { inputs.append(raw + ".gz") }
        }
        for input in inputs {
            let other = try Self.expectSuccess(["predict", checkpoint, "--input", input, "--precision", "9", "--quiet"])
            #expect(other.stdout == run.stdout, "\(input)")
        }
        let piped = Process()
        piped.executableURL = URL(fileURLWithPath: try #require(TestSupport.nfmExecutable))
        piped.arguments = ["predict", checkpoint, "--input", "-", "--precision", "9", "--quiet"]
        piped.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: compressed))
        let out = Pipe()
        piped.standardOutput = out
        try piped.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        piped.waitUntilExit()
        #expect(piped.terminationStatus == 0 && String(decoding: stdout, as: UTF8.self) == run.stdout)
        // A numeric cell that is not a number is an input error at its position.
        let bad = TestSupport.write("click,site,cnt,price,tags\n1,s1,3,x1,a\n", named: "bad.csv", in: root)
        let failed = try nfm(["predict", checkpoint, "--input", bad])
        #expect(failed.status == 1 && failed.stderr.contains("bad.csv:2:8:"), "\(failed.stderr)")
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: samples + "/criteo_sample.txt")))
    func criteoSampleBuildsTrainsAndPredictsEveryRow() throws {
        let root = TestSupport.temporaryDirectory("criteo-predict")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let sample = Self.samples + "/criteo_sample.txt"
        let (checkpoint, train) = try Self.buildAndTrain(definition: TestSupport.pipeline("criteo.json"), input: sample, in: root)
        #expect(train.contains("auc"), "\(train)")
        let run = try Self.expectSuccess(["predict", checkpoint, "--input", sample, "--unseen", "fail", "--json"])
        let predicted = try Self.predictions(run.stdout)
        #expect(predicted.count == 200 && predicted.allSatisfy { (0...1).contains($0.p) })
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(run.stderr.utf8)) as? [String: Any])
        // minCount 10 on 200 rows: most categorical values go to the OOV features.
        let oov = try #require(summary["oov_by_field"] as? [String: Int])
        #expect(oov.values.reduce(0, +) > 200)
    }
}
