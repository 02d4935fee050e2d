import Foundation
import NFMFormat
@testable import NFMPipeline
import Testing

/// Definition version 2: an explicit label column, typed fields, `minCount`, defaults of optional keys,
/// and the errors that name the offending key.
@Suite struct DefinitionV2Tests {
    /// A labelled definition with one field of each kind; `fields` and `extra` members replace or extend it.
    static func text(fields: String? = nil, label: String? = nil, extra: String = "") -> String {
        """
        {
          "name": "ctr",
          "input": { "delimiter": "," },
          "label": \(label ?? #"{ "column": "click", "type": "binary" }"#),
          "minCount": 2,
          "fields": \(fields ?? #"""
            [ "site",
              { "name": "count", "type": "numeric", "transform": "log1p", "missing": "own-value" },
              { "name": "price", "type": "numeric", "boundaries": [1, 10, 100] },
              { "name": "tags", "type": "multi", "separator": "|", "weight": "mean", "minCount": 1 } ]
            """#)\(extra)
        }
        """
    }

    @Test func aLabelledDefinitionParsesWithDefaults() throws {
        let definition = try DatasetDefinition.parse(text: Self.text(), file: "ctr.json")
        #expect(definition.label == LabelColumn(column: "click", kind: .binary, map: ["0": 0, "1": 1]))
        #expect(definition.negatives == nil && definition.labels == nil && definition.hasLabelColumn)
        #expect(definition.fields == ["site", "count", "price", "tags"])
        #expect(definition.columns == ["site", "count", "price", "tags", "click"])
        #expect(definition.input.quote == "\"" && definition.input.header)
        #expect(definition.seed == 2017 && definition.shardRows == 65_536 && definition.zstdLevel == 3)
        #expect(definition.split == DatasetDefinition.Defaults.split)
        let specs = definition.fieldSpecs
        #expect(specs[0] == .categorical("site", minCount: 2) && specs[0].hasOOV)
        #expect(specs[1].kind == .numeric && specs[1].transform == .log1p && specs[1].missing == .ownValue)
        #expect(!specs[1].hasVocabulary && !specs[1].hasOOV)
        #expect(specs[2].bucketing == .boundaries([1, 10, 100]) && specs[2].missing == .zero && specs[2].hasOOV)
        #expect(specs[3].kind == .multi && specs[3].weight == .mean && specs[3].minCount == 1 && !specs[3].hasOOV)
        #expect(!definition.isOneHot)
    }

    @Test func versionOneDefinitionsAreAllOneHotCategorical() throws {
        let definition = try DatasetDefinition.parse(text: DefinitionText.text(), file: "d.json")
        #expect(definition.fieldSpecs.allSatisfy { $0 == .categorical($0.name) })
        #expect(definition.isOneHot && !definition.hasLabelColumn && definition.minCount == 1)
    }

    @Test(arguments: [
        (#"[{ "name": "count", "type": "numeric", "tranform": "log1p" }]"#, "fields[0].tranform", "did you mean 'transform'?"),
        (#"[{ "name": "count", "type": "numerik" }]"#, "fields[0].type", "did you mean 'numeric'?"),
        (#"[{ "name": "site", "transform": "log1p" }]"#, "fields[0].transform", "does not apply to a categorical field"),
        (#"[{ "name": "tags", "type": "multi", "missing": "oov" }]"#, "fields[0].missing", "does not apply to a multi field"),
        (#"[{ "name": "site", "missing": "zero" }]"#, "fields[0].missing", "must be value or oov"),
        (#"[{ "name": "count", "type": "numeric", "missing": "oov" }]"#, "fields[0].missing", "must be zero or own-value"),
        (#"[{ "name": "count", "type": "numeric", "transform": "log1p", "bucketize": "log2-squared" }]"#, "fields[0].transform", "cannot be combined"),
        (#"[{ "name": "count", "type": "numeric", "bucketize": "log10" }]"#, "fields[0].bucketize", "log2-squared"),
        (#"[{ "name": "count", "type": "numeric", "boundaries": [1, 1] }]"#, "fields[0].boundaries[1]", "greater than"),
        (#"[{ "name": "count", "type": "numeric", "boundaries": [] }]"#, "fields[0].boundaries", "must list 1…1024"),
        (#"[{ "name": "tags", "type": "multi", "separator": "," }]"#, "fields[0].separator", "one byte other than the delimiter"),
        (#"[{ "name": "site", "minCount": 0 }]"#, "fields[0].minCount", "must be 1…"),
        (#"[{ "type": "multi" }]"#, "fields[0].name", "missing key"),
        (#"["site", 3]"#, "fields[1]", "must be a field name or an object"),
        (#"["click"]"#, "label.column", "is also a field"),
    ])
    func badFieldsNameTheirKey(fields: String, key: String, fragment: String) throws {
        let error = try #require(definitionError(Self.text(fields: fields)))
        #expect(error.code == .definition && error.position?.field == key)
        #expect(error.message.contains(fragment), "\(error.message)")
        #expect(error.position?.line != nil)
    }

    @Test func labelErrorsNameTheirKey() throws {
        let binary = try #require(definitionError(Self.text(label: #"{ "column": "click", "map": { "yes": 1 } }"#)))
        #expect(binary.position?.field == "label.map" && binary.message.contains("exactly two"))
        let kind = try #require(definitionError(Self.text(label: #"{ "column": "click", "type": "ordinal" }"#)))
        #expect(kind.position?.field == "label.type")
        let typo = try #require(definitionError(Self.text(label: #"{ "colum": "click" }"#)))
        #expect(typo.position?.field == "label.colum" && typo.message.contains("did you mean 'column'?"))
        let both = try #require(definitionError(Self.text(extra: #", "labels": { "positive": 1, "negative": 0 }"#)))
        #expect(both.position?.field == "labels" && both.message.contains("remove it"))
        let notAColumn = try #require(
            definitionError(Self.text(extra: #", "columns": ["site", "count", "price", "tags"]"#)))
        #expect(notAColumn.position?.field == "label.column" && notAColumn.message.contains("not one of the columns"))
    }

    @Test func samplingDefinitionsRefuseTypedFields() throws {
        let text = DefinitionText.text(["fields": #"["device", "ad", { "name": "page", "minCount": 3 }]"#])
        let error = try #require(definitionError(text))
        #expect(error.position?.field == "fields[2]" && error.message.contains("explicit \"label\""))
        let neither = try #require(definitionError(DefinitionText.text(["negatives": nil])))
        #expect(neither.position?.field == "negatives" && neither.message.contains("missing key"))
    }

    @Test func numbersParseStrictly() {
        func parse(_ text: String) -> Double? {
            var text = text
            return text.withUTF8 { NumericCell.parse($0) }
        }
        #expect(parse("260.0") == 260 && parse("-1") == -1 && parse("+.5") == 0.5 && parse("5.") == 5)
        #expect(parse("1e3") == 1000 && parse("2.5E-1") == 0.25)
        for bad in ["", " 1", "1 ", "nan", "inf", "0x10", "1e", "-", ".", "1,5", "1e999"] {
            #expect(parse(bad) == nil, "\(bad)")
        }
        // The exact fast path (≤ 15 digits, no exponent) agrees bit for bit with strtod.
        var state: UInt64 = 99
        for _ in 0..<20_000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let digits = String(state >> 14).prefix(Int(state % 17) + 1)
            let point = Int(state >> 60) % (digits.count + 1)
            let text = (state & 1 == 0 ? "-" : "") + digits.prefix(point) + "." + digits.dropFirst(point)
            #expect(parse(text)?.bitPattern == Double(text)?.bitPattern, "\(text)")
        }
    }

    @Test func transformsAndBuckets() {
        var spec = FieldSpec.categorical("x")
        spec.kind = .numeric
        spec.transform = .log1p
        #expect(spec.transformed(0) == 0 && abs(spec.transformed(-3) + log(4)) < 1e-12 && abs(spec.transformed(9) - log(10)) < 1e-12)
        spec.transform = .none
        spec.bucketing = .log2Squared
        #expect(spec.bucketName(2) == "2" && spec.bucketName(-1) == "-1" && spec.bucketName(0.5) == "0.5")
        #expect(spec.bucketName(3) == "1" && spec.bucketName(100) == "21" && spec.bucketName(17668) == "95")
        spec.bucketing = .boundaries([1, 10])
        #expect([0.5, 1, 9.9, 10, 1e6].map(spec.bucketName) == ["0", "1", "1", "2", "2"])
    }
}
