import Foundation
import NFMFormat
import NFMPipeline
import NFMTestSupport
import Testing

@Suite struct RawRowEncoderTests {
    @Test func reencodesTheBuildInputExactly() throws {
        let input = TestSupport.fixture("frappe-synthetic.tsv")
        let (directory, manifest) = try TestSupport.build(definition: "frappe.json", input: input)
        let encoder = try RawRowEncoder(datasetDirectory: directory, manifest: manifest)
        #expect(encoder.offsets == manifest.fields.map(\.offset))
        var encoded: Set<[UInt32]> = []
        var rows = 0
        try encoder.encode(path: input) { row in
            #expect(row.unseenFields.isEmpty)
            encoded.insert(row.features)
            rows += 1
        }
        #expect(rows == 3000)
        // Every positive stored in the shards is one of the re-encoded raw rows, and vice versa.
        var positives: Set<[UInt32]> = []
        for split in Split.allCases {
            let block = try TestSupport.instances(directory, manifest, split)
            for row in 0..<block.rowCount where block.labels[row] == 1 {
                positives.insert(Array(block.indices[row * 10..<(row + 1) * 10]))
            }
        }
        #expect(positives == encoded)
    }

    @Test func unseenValuesAreMarked() throws {
        let (directory, manifest) = try TestSupport.build(
            definition: "movielens.json", input: TestSupport.fixture("movielens-synthetic.csv"))
        let encoder = try RawRowEncoder(datasetDirectory: directory, manifest: manifest)
        let scratch = TestSupport.temporaryDirectory()
        let path = TestSupport.write("userId,movieId,tag,timestamp\n1,1,\"never, seen\",5\n999999,1,funny 0,5\n", named: "rows.csv", in: scratch)
        var rows: [RawRow] = []
        try encoder.encode(path: path) { rows.append($0) }
        #expect(rows.map(\.unseenFields) == [[2], [0]])
        #expect(rows[0].features[2] == .max && rows[0].features[0] != .max)
        #expect(rows.map(\.line) == [2, 3])
    }
}
