import Foundation
import NFMFormat
import NFMPipeline
import NFMTestSupport
import Testing

@Suite struct VerifierTests {
    func freshDataset() throws -> (String, DatasetManifest) {
        try TestSupport.build(definition: "frappe.json", input: TestSupport.fixture("frappe-synthetic.tsv")) {
            $0.definition.shardRows = 2000
        }
    }

    func problems(_ directory: String) throws -> [DatasetVerifier.Problem] {
        try DatasetVerifier.verify(directory: directory).problems
    }

    @Test func intactDatasetVerifies() throws {
        let (directory, manifest) = try freshDataset()
        let report = try DatasetVerifier.verify(directory: directory)
        #expect(report.isValid)
        #expect(manifest.shards.count > 3)
    }

    @Test func flippedByteIsNamed() throws {
        let (directory, manifest) = try freshDataset()
        let shard = manifest.shards[1].file
        var bytes = try ReadableFile.readAll(directory + "/" + shard)
        bytes[bytes.count / 2] ^= 0x01
        _ = TestSupport.writeBytes(bytes, named: shard, in: directory)
        let found = try problems(directory)
        #expect(found.map(\.path) == [shard])
        #expect(found.first?.kind == .checksumMismatch)
    }

    @Test func truncatedShardIsNamed() throws {
        let (directory, manifest) = try freshDataset()
        let shard = manifest.shards.last!.file
        let bytes = try ReadableFile.readAll(directory + "/" + shard)
        _ = TestSupport.writeBytes(Array(bytes.dropLast(7)), named: shard, in: directory)
        let found = try problems(directory)
        #expect(found.map(\.path) == [shard])
        #expect(found.first?.kind == .sizeMismatch)
    }

    @Test func missingShardIsNamed() throws {
        let (directory, manifest) = try freshDataset()
        let shard = manifest.shards[0].file
        try FileManager.default.removeItem(atPath: directory + "/" + shard)
        let found = try problems(directory)
        #expect(found.map(\.path) == [shard])
        #expect(found.first?.kind == .missing)
    }

    @Test func extraFileIsNamed() throws {
        let (directory, _) = try freshDataset()
        _ = TestSupport.write("stray", named: "train/part-99999.nfms", in: directory)
        let found = try problems(directory)
        #expect(found.map(\.path) == ["train/part-99999.nfms"])
        #expect(found.first?.kind == .extra)
    }

    @Test func corruptedVocabularyIsNamed() throws {
        let (directory, manifest) = try freshDataset()
        let vocabulary = manifest.fields[1].vocabulary
        var bytes = try ReadableFile.readAll(directory + "/" + vocabulary)
        bytes[bytes.count - 2] ^= 0x20
        _ = TestSupport.writeBytes(bytes, named: vocabulary, in: directory)
        #expect(try problems(directory).map(\.path) == [vocabulary])
    }

    @Test func missingManifestIsAnError() throws {
        let (directory, _) = try freshDataset()
        try FileManager.default.removeItem(atPath: directory + "/manifest.json")
        #expect(throws: FormatError.self) { try DatasetVerifier.verify(directory: directory) }
    }
}
