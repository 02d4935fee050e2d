import Foundation
import NFMFormat
import NFMPipeline
import NFMTestSupport
import Testing

/// The raw-row encoder on definition version 2 fields, with hand-made encodings (what a labelled build
/// records): OOV features, transforms, standardize statistics, buckets, multi-valued weights, missing cells,
/// and the checks that refuse an encoding the definition cannot have produced.
@Suite struct RawRowEncoderV2Tests {
    static let definitionText = #"""
        { "name": "t", "input": { "delimiter": "," }, "label": { "column": "click", "type": "binary" },
          "fields": [
            { "name": "site", "minCount": 2 },
            { "name": "dev", "missing": "oov" },
            "plain",
            { "name": "cnt", "type": "numeric", "transform": "log1p", "missing": "own-value" },
            { "name": "z", "type": "numeric", "transform": "standardize" },
            { "name": "b", "type": "numeric", "bucketize": "log2-squared", "missing": "own-value" },
            { "name": "tags", "type": "multi", "separator": "|", "weight": "mean", "minCount": 2 } ] }
        """#

    static func vocabulary(_ values: [String]) -> Vocabulary {
        var vocabulary = Vocabulary()
        for var value in values { _ = value.withUTF8 { vocabulary.encode($0) } }
        return vocabulary
    }

    /// Offsets: site 0 (a, b, OOV), dev 3 (x, OOV), plain 5 (p, q), cnt 7 (value, missing), z 9,
    /// b 10 ("15", ""), tags 12 (comedy, drama, OOV); 15 features.
    static func encoder(zStats: (Double?, Double?) = (10, 4), siteOOV: Int? = 2) throws -> RawRowEncoder {
        let definition = try DatasetDefinition.parse(text: definitionText, file: "t.json")
        let table: [(Int, Int, String?, [String]?, Int?, Double?, Double?)] = [
            (0, 3, nil, ["a", "b"], siteOOV, nil, nil),
            (3, 2, nil, ["x"], 1, nil, nil),
            (5, 2, nil, ["p", "q"], nil, nil, nil),
            (7, 2, "numeric", nil, nil, nil, nil),
            (9, 1, "numeric", nil, nil, zStats.0, zStats.1),
            (10, 2, "numeric", ["15", ""], nil, nil, nil),
            (12, 3, "multi", ["comedy", "drama"], 2, nil, nil),
        ]
        let fields = try zip(definition.fieldSpecs, table).map { spec, row in
            try RawRowEncoder.FieldEncoding(
                spec: spec, offset: row.0, cardinality: row.1, kind: row.2, vocabulary: row.3.map(vocabulary), oov: row.4,
                mean: row.5, stddev: row.6, code: .checkpoint, file: "t")
        }
        return RawRowEncoder(definition: definition, fields: fields)
    }

    static let rows = """
        site,dev,plain,cnt,z,b,tags,click
        a,x,p,3,14,50,comedy|drama,1
        zz,,q,,,,,0
        b,y,new,-2,6,1.5,drama||horror|,1

        """

    func encodeAll(_ encoder: RawRowEncoder, _ path: String) throws -> [RawRow] {
        var rows: [RawRow] = []
        try encoder.encode(path: path) { rows.append($0) }
        return rows
    }

    @Test func everyKindOfFieldEncodesAsTheBuildDoes() throws {
        let scratch = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let rows = try encodeAll(try Self.encoder(), TestSupport.write(Self.rows, named: "rows.csv", in: scratch))
        #expect(rows.map(\.line) == [2, 3, 4])
        // Row 2: every value kept; log1p(3); (14 − 10)/4; bucket ⌊ln(50)²⌋ = 15; two genres of weight ½.
        #expect(rows[0].features == [0, 3, 5, 7, 9, 10, 12, 13])
        #expect(rows[0].values == [1, 1, 1, Float(log1p(3.0)), 1, 1, 0.5, 0.5])
        #expect(rows[0].oovFields.isEmpty && rows[0].unseenFields.isEmpty)
        // Row 3: a rare site and an empty dev go to their OOV features; empty cnt → its indicator; empty z
        // (missing: zero) and empty tags give nothing; an empty bucketized cell is the value "".
        #expect(rows[1].features == [2, 4, 6, 8, 11])
        #expect(rows[1].values == [1, 1, 1, 1, 1])
        #expect(rows[1].oovFields == [0, 1])
        // Row 4: dev "y" → OOV; "new" of a field without OOV is unseen; a negative count; bucket "1.5" is
        // unseen (no OOV); empty pieces of the multi-valued cell are skipped, "horror" → OOV, n = 2.
        #expect(rows[2].features == [1, 4, .max, 7, 9, .max, 13, 14])
        #expect(rows[2].values == [1, 1, 1, Float(-log1p(2.0)), -1, 1, 0.5, 0.5])
        #expect(rows[2].oovFields == [1, 6])
        #expect(rows[2].unseenFields == [2, 5] && rows[2].unseenValues == ["new", "1.5"])
        #expect(try Self.encoder().hasValues)
    }

    @Test func compressedInputEncodesLikeThePlainFile() throws {
        let scratch = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let encoder = try Self.encoder()
        let plain = try encodeAll(encoder, TestSupport.write(Self.rows, named: "rows.csv", in: scratch))
        let compressed = try Array(Self.rows.utf8).withUnsafeBytes { try Zstd.compress($0, level: 3) }
        let zst = try encodeAll(encoder, TestSupport.writeBytes(compressed, named: "rows.csv.zst", in: scratch))
        #expect(zst.map(\.features) == plain.map(\.features) && zst.map(\.values) == plain.map(\.values))
        #expect(zst.map(\.line) == plain.map(\.line))
    }

    @Test func aNumericCellThatIsNotANumberIsAnErrorAtItsPosition() throws {
        let scratch = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let path = TestSupport.write(
            "site,dev,plain,cnt,z,b,tags,click\na,x,p,3,14,50,,1\na,x,p,1e999,14,50,,1\n", named: "bad.csv", in: scratch)
        let error = try #require(throws: NFMError.self) { try encodeAll(try Self.encoder(), path) }
        #expect(error.code == .input)
        #expect(error.position == .init(file: "bad.csv", line: 3, column: 7))
        #expect(error.message.contains("field cnt: expected a number"))
        // A number a kept field cannot hold is refused with the build's words, at its cell.
        let huge = TestSupport.write(
            "site,dev,plain,cnt,z,b,tags,click\na,x,p,3,1e300,50,,1\n", named: "huge.csv", in: scratch)
        let range = try #require(throws: NFMError.self) { try encodeAll(try Self.encoder(), huge) }
        #expect(range.position == .init(file: "huge.csv", line: 2, column: 9))
        #expect(range.message.contains("field z: is beyond the range of a 32-bit float after its transform"))
    }

    @Test func encodingsTheDefinitionCannotProduceAreRefused() throws {
        // Standardize without statistics, or with σ = 0; an OOV index not after the kept values.
        for (stats, oov, key) in [((nil, nil), 2, "z: stddev"), ((10, 0), 2, "z: stddev"), ((10, 4), 1, "site: oov")] as [((Double?, Double?), Int?, String)] {
            let error = try #require(throws: NFMError.self) { try Self.encoder(zStats: stats, siteOOV: oov) }
            #expect(error.code == .checkpoint)
            #expect(error.position?.field == "field " + key)
        }
        // A field without an OOV feature given one.
        let spec = FieldSpec.categorical("plain")
        let error = try #require(throws: NFMError.self) {
            try RawRowEncoder.FieldEncoding(
                spec: spec, offset: 0, cardinality: 3, kind: nil, vocabulary: Self.vocabulary(["p", "q"]), oov: 2, mean: nil,
                stddev: nil, code: .manifest, file: "m")
        }
        #expect(error.code == .manifest && error.position?.field == "field plain: oov")
        // A kind other than the definition's.
        let kind = try #require(throws: NFMError.self) {
            try RawRowEncoder.FieldEncoding(
                spec: spec, offset: 0, cardinality: 2, kind: "multi", vocabulary: Self.vocabulary(["p", "q"]), oov: nil,
                mean: nil, stddev: nil, code: .checkpoint, file: "m")
        }
        #expect(kind.code == .checkpoint && kind.position?.field == "field plain: kind")
    }
}
