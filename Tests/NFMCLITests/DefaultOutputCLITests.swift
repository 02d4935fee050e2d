import Foundation
import NFMFormat
import NFMTestSupport
import Testing

/// `nfm build` without `--out` writes `data/<definition name>` under the working directory, and `nfm train`
/// without `--out` writes `runs/<dataset>-<model>`: the commands work as written.
@Suite struct DefaultOutputCLITests {
    @Test func buildAndTrainWithoutOut() throws {
        let directory = TestSupport.temporaryDirectory("default-out")
        let definition = """
            { "name": "clicks", "input": { "delimiter": "," }, "label": { "column": "y" },
              "fields": [ "a", { "name": "x", "type": "numeric", "transform": "log1p" } ] }
            """
        let definitionPath = TestSupport.write(definition, named: "clicks.json", in: directory)
        let log = "y,a,x\n" + (0..<300).map { "\($0 % 3 == 0 ? 1 : 0),a\($0 % 7),\($0 % 11)" }.joined(separator: "\n") + "\n"
        let input = TestSupport.write(log, named: "log.csv", in: directory)
        let built = try nfm(["build", definitionPath, "--input", input, "--quiet"], in: directory)
        #expect(built.status == 0, "\(built.stderr)")
        #expect(try DatasetVerifier.verify(directory: directory + "/data/clicks").isValid)
        let again = try nfm(["build", definitionPath, "--input", input, "--quiet"], in: directory)
        #expect(again.status == 2 && again.stderr.contains("data/clicks: exists"))
        let trained = try nfm(["train", "data/clicks", "--model", "fm", "--loss", "log", "--epochs", "1"], in: directory)
        #expect(trained.status == 0 && trained.stderr.contains("auc"), "\(trained.stderr)")
        #expect(FileManager.default.fileExists(atPath: directory + "/runs/clicks-fm/summary.json"))
    }
}
