import Foundation
import NFMFormat
import NFMTestSupport
import Testing

/// Issue 9 §1 through the executable: repeated `--input`, globs, `-` from a pipe, compressed input.
@Suite struct BuildInputsCLITests {
    static let definition = TestSupport.pipeline("frappe.json")
    static let fixture = TestSupport.fixture("frappe-synthetic.tsv")

    /// Runs `command` with `/bin/sh -c`, `$NFM` naming the executable; returns the exit status.
    func shell(_ command: String) throws -> Int32 {
        let executable = try #require(TestSupport.nfmExecutable, "the nfm executable is built beside the tests")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        process.environment = ["NFM": executable, "PATH": "/usr/bin:/bin"]
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Shards and vocabularies of the two directories are byte-equal; the manifests differ at most in `inputs`.
    func expectSameDataset(_ directory: String, as reference: String) throws {
        var a = TestSupport.snapshot(directory)
        var b = TestSupport.snapshot(reference)
        for name in [DatasetManifest.fileName, DatasetManifest.checksumFileName] {
            a[name] = nil
            b[name] = nil
        }
        #expect(!a.isEmpty && a.count == b.count)
        let differing = Set(a.keys).union(b.keys).filter { a[$0] != b[$0] }.sorted()
        #expect(differing.isEmpty)
        var manifest = try DatasetManifest.load(directory: directory).manifest
        let expected = try DatasetManifest.load(directory: reference).manifest
        manifest.inputs = expected.inputs
        #expect(manifest == expected)
    }

    func reference() throws -> String {
        let out = TestSupport.temporaryDirectory() + "/reference"
        #expect(try nfm(["build", Self.definition, "--input", Self.fixture, "--out", out, "--quiet"]).status == 0)
        return out
    }

    @Test func standardInputFromAPipePlainOrCompressed() throws {
        let reference = try reference()
        let stored = try ReadableFile.readAll(Self.fixture)
        for (name, producer) in [("plain", "cat"), ("gzip", "gzip -c -n")] {
            let out = TestSupport.temporaryDirectory() + "/ds"
            let status = try shell(
                "\(producer) '\(Self.fixture)' | \"$NFM\" build '\(Self.definition)' --input - --out '\(out)' --quiet")
            #expect(status == 0, "\(name)")
            try expectSameDataset(out, as: reference)
            let input = try #require(try DatasetManifest.load(directory: out).manifest.inputs.first)
            #expect(input.name == "<stdin>")
            if name == "plain" {
                #expect(input.bytes == stored.count && input.sha256 == SHA256.hexDigest(of: stored))
            } else {
                #expect(input.bytes < stored.count)
            }
        }
    }

    @Test func globsExpandInSortedOrderAndRepeatedInputsAreReadInOrder() throws {
        let reference = try reference()
        let lines = try String(contentsOfFile: Self.fixture, encoding: .utf8).split(separator: "\n").map { $0 + "\n" }
        let d = TestSupport.temporaryDirectory()
        // Written out of order: the glob, not the creation order, decides.
        _ = TestSupport.write(lines[2001...].joined(), named: "part-3.tsv", in: d)
        _ = TestSupport.write(lines[..<1001].joined(), named: "part-1.tsv", in: d)
        _ = TestSupport.write(lines[1001..<2001].joined(), named: "part-2.tsv", in: d)
        #expect(try shell("gzip -n '\(d)/part-2.tsv' && zstd -q --rm '\(d)/part-3.tsv'") == 0)
        let globbed = TestSupport.temporaryDirectory() + "/ds"
        #expect(try nfm(["build", Self.definition, "--input", d + "/part-*", "--out", globbed, "--quiet"]).status == 0)
        try expectSameDataset(globbed, as: reference)
        #expect(try DatasetManifest.load(directory: globbed).manifest.inputs.map(\.name) == ["part-1.tsv", "part-2.tsv.gz", "part-3.tsv.zst"])
        let repeated = TestSupport.temporaryDirectory() + "/ds"
        let result = try nfm([
            "build", Self.definition, "--input", d + "/part-1.tsv", "--input", d + "/part-[2]*", "--input",
            d + "/part-3.tsv.zst", "--out", repeated, "--quiet",
        ])
        #expect(result.status == 0)
        try expectSameDataset(repeated, as: reference)
    }

    @Test func inputMistakesAreRefusedBeforeTheOutputExists() throws {
        let d = TestSupport.temporaryDirectory()
        let copy = TestSupport.writeBytes(try ReadableFile.readAll(Self.fixture), named: "log.tsv", in: d)
        let cases: [([String], Int32, String)] = [
            ([d + "/nothing-*.tsv"], 2, "field --input = \(d)/nothing-*.tsv: the pattern matches no file"),
            ([copy, d + "/log.*"], 2, "--input given 2 times for the same file"),
            (["-", "-"], 2, "standard input (-) given 2 times"),
            ([copy, d + "/missing.tsv"], 3, "missing.tsv: no such file"),
            ([], 2, "missing --input"),
        ]
        for (inputs, status, fragment) in cases {
            let out = TestSupport.temporaryDirectory() + "/ds"
            let result = try nfm(["build", Self.definition, "--out", out] + inputs.flatMap { ["--input", $0] })
            #expect(result.status == status, "\(inputs)")
            #expect(result.stderr.contains(fragment), "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out))
        }
    }

    /// Real Frappe compressed into a pipe builds the dataset of the plain file (skipped without `../shared`).
    @Test(.enabled(if: TestSupport.realFrappe != nil, "needs ../shared/datasets/frappe/frappe.csv"))
    func realFrappeThroughACompressedPipe() throws {
        let path = try #require(TestSupport.realFrappe)
        let plain = TestSupport.temporaryDirectory() + "/plain"
        #expect(try nfm(["build", Self.definition, "--input", path, "--out", plain, "--quiet"]).status == 0)
        let piped = TestSupport.temporaryDirectory() + "/piped"
        let status = try shell("zstd -q -c '\(path)' | \"$NFM\" build '\(Self.definition)' --input - --out '\(piped)' --quiet")
        #expect(status == 0)
        try expectSameDataset(piped, as: plain)
        #expect(try DatasetManifest.load(directory: piped).manifest.counts.instances == 288_609)
    }

    @Test func helpDescribesTheInputs() throws {
        let help = try nfm(["build", "--help"]).stdout
        #expect(help.contains("repeatable, globs allowed"))
        #expect(help.contains("- reads standard input"))
    }
}
