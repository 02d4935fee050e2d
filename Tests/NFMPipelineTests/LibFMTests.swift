import Foundation
import NFMFormat
import NFMPipeline
import NFMTestSupport
import Testing

@Suite struct LibFMTests {
    @Test func shardsToLibFMToShardsPreservesEveryInstance() throws {
        let (directory, manifest) = try TestSupport.build(
            definition: "frappe.json", input: TestSupport.fixture("frappe-synthetic.tsv"))
        let text = TestSupport.temporaryDirectory()
        try LibFMConverter.export(datasetDirectory: directory, to: text)
        var files: [Split: String] = [:]
        for split in Split.allCases { files[split] = text + "/" + LibFMConverter.fileName(split) }
        let out = TestSupport.temporaryDirectory() + "/imported"
        let imported = try LibFMConverter.importFiles(.init(files: files, outputDirectory: out))
        #expect(imported.layout == .fixed)
        #expect(imported.counts.instances == manifest.counts.instances)
        #expect(imported.fields.map(\.offset) == manifest.fields.map(\.offset))
        for split in Split.allCases {
            #expect(try TestSupport.instances(out, imported, split) == TestSupport.instances(directory, manifest, split))
        }
        #expect(try DatasetVerifier.verify(directory: out).isValid)
    }

    @Test func generalLibFMUsesTheSparseLayoutWithValues() throws {
        let directory = TestSupport.temporaryDirectory()
        let train = TestSupport.write("1 0:1 5:0.5\n-1 3:2\n0.25 1:1 2:1 9:-1.5\n", named: "train.libfm", in: directory)
        let test = TestSupport.write("1 4:1\n", named: "test.libfm", in: directory)
        let out = directory + "/ds"
        let manifest = try LibFMConverter.importFiles(.init(files: [.train: train, .test: test], outputDirectory: out))
        #expect(manifest.layout == .sparse && manifest.featureCount == 10)
        #expect((manifest.counts.train, manifest.counts.validation, manifest.counts.test) == (3, 0, 1))
        let block = try TestSupport.instances(out, manifest, .train)
        #expect(block.labels == [1, -1, 0.25])
        #expect(block.features(ofRow: 2).indices.elementsEqual([1, 2, 9]))
        #expect(block.features(ofRow: 2).values!.elementsEqual([1, 1, -1.5]))
        let again = TestSupport.temporaryDirectory()
        try LibFMConverter.export(datasetDirectory: out, to: again)
        #expect(
            try String(contentsOfFile: again + "/train.libfm", encoding: .utf8)
                == "1 0:1 5:0.5\n-1 3:2\n0.25 1:1 2:1 9:-1.5\n")
    }

    @Test func malformedLibFMNamesLineAndColumn() throws {
        let directory = TestSupport.temporaryDirectory()
        let train = TestSupport.write("1 0:1\n1 2:x\n", named: "train.libfm", in: directory)
        do {
            try LibFMConverter.importFiles(.init(files: [.train: train], outputDirectory: directory + "/ds"))
            Issue.record("import succeeded")
        } catch let error as PipelineError {
            #expect(error.description.hasPrefix("train.libfm:2:3: expected 'index:value'"))
        }
        #expect(!FileManager.default.fileExists(atPath: directory + "/ds"))
    }
}
