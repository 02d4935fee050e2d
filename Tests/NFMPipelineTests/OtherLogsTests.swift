import Foundation
import NFMFormat
@testable import NFMPipeline
import NFMTestSupport
import Testing

/// Logs of other shapes build from a definition alone: an Avazu-shaped click log (CSV, an `id` column to
/// drop, a binary `click` label, an `hour` to bucket by boundaries, hashed ids with a long tail) and the
/// Criteo Kaggle `train.txt` shape (tab-separated, no header, label first).
@Suite struct OtherLogsTests {
    @Test func anAvazuShapedLogBuilds() throws {
        let definition = """
            {
              "name": "avazu",
              "input": { "delimiter": "," },
              "label": { "column": "click" },
              "minCount": 3,
              "fields": [
                { "name": "hour", "type": "numeric", "boundaries": [14102106, 14102112, 14102118], "missing": "own-value" },
                "banner_pos", { "name": "site_id", "missing": "oov" }, "device_type", "C14"
              ]
            }
            """
        var log = "id,click,hour,C1,banner_pos,site_id,device_type,C14\n"
        for i in 0..<500 {
            let site = i % 7 == 0 ? "" : String(format: "%08x", (i * 2_654_435_761) % (i % 3 == 0 ? 5 : 400))
            log += "\(10_000_000 + i),\(i % 5 == 0 ? 1 : 0),\(14_102_100 + i % 24),1005,\(i % 2),\(site),\(i % 4),\(15_700 + i % 50)\n"
        }
        let (out, manifest) = try LabelledBuildTests.build(definition, log)
        #expect(manifest.counts.instances == 500 && manifest.counts.negatives == 0 && manifest.layout == .fixed)
        #expect(manifest.fields.map(\.name) == ["hour", "banner_pos", "site_id", "device_type", "C14"])
        #expect(manifest.fields[0].cardinality == 4 + 1 && manifest.fields[2].oov != nil)
        #expect(manifest.label?.atMaximum == 100)
        #expect(try DatasetVerifier.verify(directory: out).isValid)
    }

    @Test func aHeaderlessTabSeparatedCriteoLogBuilds() throws {
        let columns = ["label"] + (1...13).map { "I\($0)" } + (1...26).map { "C\($0)" }
        let fields =
            (1...13).map { #"{ "name": "I\#($0)", "type": "numeric", "bucketize": "log2-squared", "missing": "own-value" }"# }
            + (1...26).map { #"{ "name": "C\#($0)", "minCount": 2, "missing": "oov" }"# }
        let definition = """
            { "name": "criteo-kaggle", "input": { "delimiter": "\\t", "quote": null, "header": false },
              "columns": [\(columns.map { "\"\($0)\"" }.joined(separator: ", "))],
              "label": { "column": "label" }, "fields": [\(fields.joined(separator: ", "))] }
            """
        var log = ""
        for i in 0..<300 {
            let numbers = (1...13).map { j in (i + j) % 4 == 0 ? "" : String((i * j) % 1000 - 2) }
            let categories = (1...26).map { j in (i + j) % 9 == 0 ? "" : String(format: "%08x", (i * 31 + j) % (j * 3)) }
            log += ([String(i % 4 == 0 ? 1 : 0)] + numbers + categories).joined(separator: "\t") + "\n"
        }
        let (out, manifest) = try LabelledBuildTests.build(definition, log)
        #expect(manifest.counts.instances == 300 && manifest.layout == .fixed && manifest.fields.count == 39)
        let rows = try LabelledBuildTests.rows(out, manifest)
        #expect(rows.allSatisfy { $0.entries.count == 39 && $0.entries.allSatisfy { $0.1 == 1 } })
    }
}
