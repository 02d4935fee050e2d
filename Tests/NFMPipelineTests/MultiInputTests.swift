import Foundation
import NFMFormat
import NFMPipeline
import NFMTestSupport
import Testing

/// Issue 9 §1: several inputs, read in order as one log, plain or compressed, build the dataset of the
/// whole log; errors name the input and its own line.
@Suite("Several inputs, gzip and zstd: one log")
struct MultiInputTests {
    static let fixture = TestSupport.fixture("frappe-synthetic.tsv")

    typealias Built = (directory: String, manifest: DatasetManifest)

    /// Builds `paths` in order with `frappe.json` (or `definition`).
    func build(_ paths: [String], definition: DatasetDefinition? = nil, skipBadRows: Bool = false) throws -> Built {
        try TestSupport.build(definition: "frappe.json", input: paths[0]) { options in
            options.inputPaths = paths
            options.skipBadRows = skipBadRows
            if let definition { options.definition = definition }
        }
    }

    /// Every shard and vocabulary equal, and the manifests equal but for their `inputs`.
    func expectSameDataset(_ built: Built, as reference: Built, _ comment: Comment? = nil) {
        var a = TestSupport.snapshot(built.directory)
        var b = TestSupport.snapshot(reference.directory)
        for name in [DatasetManifest.fileName, DatasetManifest.checksumFileName] {
            a[name] = nil
            b[name] = nil
        }
        #expect(!a.isEmpty && a.count == b.count, comment)
        let differing = Set(a.keys).union(b.keys).filter { a[$0] != b[$0] }.sorted()
        #expect(differing.isEmpty, comment)
        var manifest = built.manifest
        manifest.inputs = reference.manifest.inputs
        #expect(manifest == reference.manifest, comment)
    }

    /// The fixture's header and data lines.
    static func lines() throws -> (header: String, rows: [String]) {
        let text = try String(contentsOfFile: fixture, encoding: .utf8)
        let lines = text.split(separator: "\n").map(String.init)
        return (lines[0], Array(lines.dropFirst()))
    }

    /// `lines` as a file (each followed by a newline) in `directory`, compressed by its name's extension.
    static func part(_ lines: [String], _ name: String, in directory: String) throws -> String {
        let bytes = Array(lines.map { $0 + "\n" }.joined().utf8)
        if name.hasSuffix(".zst") {
            return TestSupport.writeBytes(try bytes.withUnsafeBytes { try Zstd.compress($0, level: 3) }, named: name, in: directory)
        }
        let path = TestSupport.writeBytes(bytes, named: name, in: directory)
        if name.hasSuffix(".gz") { try gzip(path) }
        return path
    }

    /// Compresses `path` in place with the `gzip` tool (the name keeps its `.gz`).
    static func gzip(_ path: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "gzip -c -n \"$0\" > \"$0.tmp\" && mv \"$0.tmp\" \"$0\"", path]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }

    /// A line with its tab-separated cells in reverse order.
    static func reversed(_ line: String) -> String {
        line.split(separator: "\t", omittingEmptySubsequences: false).reversed().joined(separator: "\t")
    }

    @Test func everyShapeOfTheLogBuildsTheSameDataset() throws {
        let reference = try build([Self.fixture])
        let (header, rows) = try Self.lines()
        let d = TestSupport.temporaryDirectory()
        let half = rows.count / 2
        let (a, b, c) = (rows[..<1000], rows[1000..<2200], rows[2200...])
        let variants: [(String, [String])] = [
            ("gzip", [try Self.part([header] + rows, "all.tsv.gz", in: d)]),
            ("zstd", [try Self.part([header] + rows, "all.tsv.zst", in: d)]),
            ("halves, second without header", [
                try Self.part([header] + rows[..<half], "h1.tsv", in: d), try Self.part(Array(rows[half...]), "h2.tsv", in: d),
            ]),
            ("halves, both with header", [
                try Self.part([header] + rows[..<half], "k1.tsv", in: d),
                try Self.part([header] + rows[half...], "k2.tsv.gz", in: d),
            ]),
            // p4 has no header: it is read with p2's (reversed) mapping.
            ("three parts, reordered columns, an empty part, mixed compression", [
                try Self.part([header] + a, "p1.tsv", in: d),
                try Self.part(([header] + b).map(Self.reversed), "p2.tsv.gz", in: d),
                try Self.part([], "p3.tsv", in: d),
                try Self.part(c.map(Self.reversed), "p4.tsv.zst", in: d),
            ]),
        ]
        for (name, paths) in variants {
            let built = try build(paths)
            expectSameDataset(built, as: reference, "\(name)")
            #expect(built.manifest.inputs.map(\.name) == paths.map { ($0 as NSString).lastPathComponent }, "\(name)")
        }
    }

    @Test func manifestListsEveryInputWithItsStoredBytes() throws {
        let (header, rows) = try Self.lines()
        let d = TestSupport.temporaryDirectory()
        let paths = [
            try Self.part([header] + rows[..<10], "a.tsv", in: d), try Self.part(Array(rows[10...]), "b.tsv.gz", in: d),
            try Self.part([], "c.tsv", in: d),
        ]
        let (_, manifest) = try build(paths)
        #expect(manifest.inputs.count == 3)
        for (input, path) in zip(manifest.inputs, paths) {
            let stored = try ReadableFile.readAll(path)
            #expect(input == .init(name: (path as NSString).lastPathComponent, bytes: stored.count, sha256: SHA256.hexDigest(of: stored)))
        }
        #expect(try ReadableFile.readAll(paths[1]).starts(with: [0x1F, 0x8B]))
        #expect(manifest.counts.rowsRead == rows.count)
    }

    @Test func aBadRowNamesItsInputAndItsLineThere() throws {
        let (header, rows) = try Self.lines()
        let d = TestSupport.temporaryDirectory()
        var second = Array(rows[100...])
        second[4] = "too\tfew"
        for (name, lines) in [("b.tsv", second), ("b.tsv.zst", [header] + second)] {
            let paths = [try Self.part([header] + rows[..<100], "a.tsv", in: d), try Self.part(lines, name, in: d)]
            let error = try #require(throws: NFMError.self) { try build(paths) }
            #expect(error.code == .input)
            let line = name == "b.tsv" ? 5 : 6
            #expect(error.position == .init(file: name, line: line, column: 8), "\(name)")
            let (directory, manifest) = try build(paths, skipBadRows: true)
            #expect(manifest.counts.rowsRejected == 1)
            let rejects = try String(contentsOfFile: directory + "/rejects.tsv", encoding: .utf8)
            #expect(rejects.contains("\(line)\t8\t\(name): expected 11 fields, found 2\t"))
        }
    }

    @Test func aTruncatedCompressedInputIsNamedAndLeavesNoOutput() throws {
        let (header, rows) = try Self.lines()
        let d = TestSupport.temporaryDirectory()
        let first = try Self.part([header] + rows[..<100], "a.tsv", in: d)
        let whole = try ReadableFile.readAll(try Self.part(Array(rows[100...]), "b.tsv.gz", in: d))
        let truncated = TestSupport.writeBytes(Array(whole.dropLast(40)), named: "cut.tsv.gz", in: d)
        let out = TestSupport.temporaryDirectory() + "/out"
        var options = DatasetBuilder.Options(
            definition: try DatasetDefinition.load(path: TestSupport.pipeline("frappe.json")), inputPaths: [first, truncated],
            outputDirectory: out)
        let error = try #require(throws: NFMError.self) { try DatasetBuilder.build(options) }
        #expect(error.code == .compression)
        #expect(error.position?.file == truncated)
        #expect(error.message.contains("truncated"))
        #expect(!FileManager.default.fileExists(atPath: out))
        options.inputPaths = [TestSupport.writeBytes(Array(whole.prefix(12)), named: "head.tsv.gz", in: d)]
        #expect(throws: NFMError.self) { try DatasetBuilder.build(options) }
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test func pathsAreCheckedBeforeTheOutputIsClaimed() throws {
        let d = TestSupport.temporaryDirectory()
        let a = try Self.part(try [Self.lines().header] + Self.lines().rows, "a.tsv", in: d)
        let cases: [(NFMError.Code, [String], String)] = [
            (.usage, [a, d + "/./a.tsv"], "--input given 2 times for the same file"),
            (.usage, ["-", a, "-"], "standard input (-) given 2 times"),
            (.io, [a, d + "/missing.tsv"], "missing.tsv: no such file"),
            (.io, [a, d], "is a directory"),
            (.usage, [], "no input"),
        ]
        for (code, paths, fragment) in cases {
            let out = TestSupport.temporaryDirectory() + "/out"
            let options = DatasetBuilder.Options(
                definition: try DatasetDefinition.load(path: TestSupport.pipeline("frappe.json")), inputPaths: paths,
                outputDirectory: out)
            let error = try #require(throws: NFMError.self) { try DatasetBuilder.build(options) }
            #expect(error.code == code, "\(paths)")
            #expect(error.description.contains(fragment), "\(error)")
            #expect(!FileManager.default.fileExists(atPath: out))
        }
    }

    @Test func theOutputMayOverlapNoInput() throws {
        let (header, rows) = try Self.lines()
        let first = try Self.part([header] + rows[..<10], "a.tsv", in: TestSupport.temporaryDirectory())
        let secondDirectory = TestSupport.temporaryDirectory()
        let second = try Self.part(Array(rows[10...]), "b.tsv", in: secondDirectory)
        for out in [secondDirectory, second, second + "/sub"] {
            var options = DatasetBuilder.Options(
                definition: try DatasetDefinition.load(path: TestSupport.pipeline("frappe.json")), inputPaths: [first, second],
                outputDirectory: out)
            options.force = true
            let error = try #require(throws: NFMError.self) { try DatasetBuilder.build(options) }
            #expect(error.code == .refused, "\(out)")
            #expect(error.message.contains(second), "\(out)")
            #expect(try ReadableFile.readAll(second).count == rows[10...].map { $0.utf8.count + 1 }.reduce(0, +))
        }
    }

    @Test func headerRule() throws {
        let (header, rows) = try Self.lines()
        let d = TestSupport.temporaryDirectory()
        let data = try Self.part(Array(rows), "data.tsv", in: d)
        // The first input must start with the header; an input holding only the header is fine.
        let empty = try #require(throws: NFMError.self) { try build([try Self.part([], "e.tsv", in: d), data]) }
        #expect(empty.description == "e.tsv:1:1: empty file: expected a header line")
        let headed = try build([try Self.part([header], "h.tsv", in: d), data])
        #expect(headed.manifest.counts.rowsRead == rows.count)
        // A later first line naming most required columns but not all is a damaged header, not data.
        let damaged = header.replacingOccurrences(of: "country", with: "contry")
        let error = try #require(throws: NFMError.self) {
            try build([try Self.part([header] + rows[..<5], "a.tsv", in: d), try Self.part([damaged] + rows[5...], "b.tsv", in: d)])
        }
        #expect(error.code == .input)
        #expect(error.description.hasPrefix("b.tsv:1:1: missing header column 'country'"))
        // Without a header, `columns` give the order of every input.
        var text = try String(contentsOfFile: TestSupport.pipeline("frappe.json"), encoding: .utf8)
        text = text.replacingOccurrences(of: "\"header\": true", with: "\"header\": false")
        let headerless = try DatasetDefinition.parse(text: text, file: "frappe.json")
        #expect(!headerless.input.header)
        let parts = [try Self.part(Array(rows[..<1500]), "n1.tsv", in: d), try Self.part(Array(rows[1500...]), "n2.tsv.gz", in: d)]
        let built = try build(parts, definition: headerless)
        var reference = try build([Self.fixture])
        reference.manifest.definition = built.manifest.definition
        expectSameDataset(built, as: reference)
    }

    /// The real Frappe log as two compressed halves (the second without header) builds the dataset of
    /// the plain file. Skipped when `../shared` is absent; the copies live in a temporary directory.
    @Test(.enabled(if: TestSupport.realFrappe != nil, "needs ../shared/datasets/frappe/frappe.csv"))
    func realFrappeInCompressedHalves() throws {
        let path = try #require(TestSupport.realFrappe)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        let d = TestSupport.temporaryDirectory()
        let half = lines.count / 2
        let parts = [try Self.part(Array(lines[..<half]), "frappe-1.csv.gz", in: d), try Self.part(Array(lines[half...]), "frappe-2.csv.zst", in: d)]
        let built = try build(parts)
        expectSameDataset(built, as: try build([path]))
        #expect(built.manifest.counts.instances == 288_609)
    }
}
