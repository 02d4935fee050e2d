import Foundation
import NFMFormat
import NFMPipeline
import NFMTestSupport
import Testing

/// A third categorical log needs only a definition: here semicolon-separated, no header, 0/1 labels,
/// three negatives per positive, a two-field rule key and an 80/10/10 split.
@Suite struct ThirdDatasetTests {
    let definition = """
        {
          "name": "clicks",
          "input": { "delimiter": ";", "quote": null, "header": false },
          "columns": ["session", "page", "ad", "device"],
          "fields": ["device", "ad", "page"],
          "labels": { "positive": 1, "negative": 0 },
          "negatives": { "field": "ad", "perPositive": 3, "rule": "page-device",
                         "rules": { "page-device": ["page", "device"] } },
          "split": { "train": 0.8, "validation": 0.1, "test": 0.1 },
          "seed": 5, "shardRows": 7, "zstdLevel": 1
        }
        """

    @Test func buildsFromADefinitionAlone() throws {
        let directory = TestSupport.temporaryDirectory()
        var rows = ""
        for i in 0..<60 { rows += "s\(i);p\(i % 6);ad\(i % 30);\((i / 6) % 2 == 0 ? "phone" : "desktop")\n" }
        let input = TestSupport.write(rows, named: "clicks.txt", in: directory)
        var options = DatasetBuilder.Options(
            definition: try DatasetDefinition.parse(text: definition, file: "clicks.json"), inputPath: input,
            outputDirectory: directory + "/out")
        options.threads = 1
        let manifest = try DatasetBuilder.build(options)
        #expect(manifest.fields.map(\.name) == ["device", "ad", "page"])
        #expect(manifest.fields.map(\.cardinality) == [2, 30, 6])
        #expect(manifest.counts.positives == 60 && manifest.counts.negatives == 180)
        #expect((manifest.counts.train, manifest.counts.validation, manifest.counts.test) == (192, 24, 24))
        #expect(manifest.shards(in: .train).count == 28)  // 192 rows, 7 per shard
        var labels: Set<Float> = []
        var positiveKeys: Set<[UInt32]> = []
        var negatives: [[UInt32]] = []
        for split in Split.allCases {
            let block = try TestSupport.instances(directory + "/out", manifest, split)
            labels.formUnion(block.labels)
            for r in 0..<block.rowCount {
                let row = Array(block.indices[r * 3..<(r + 1) * 3])
                if block.labels[r] == 1 { positiveKeys.insert([row[2], row[0], row[1]]) } else { negatives.append(row) }
            }
        }
        #expect(labels == [0, 1])
        #expect(negatives.allSatisfy { !positiveKeys.contains([$0[2], $0[0], $0[1]]) })
        #expect(try DatasetVerifier.verify(directory: directory + "/out").isValid)
    }
}
