import Testing

@testable import NFMPipeline

/// `DatasetBuilder.vocabularyPath`: the `vocab/NN-name.tsv` spelling of the manifests (`%02d`, then the
/// sanitized field name).
@Suite struct VocabularyPathTests {
    @Test func numbersHaveAtLeastTwoDigitsAndNamesAreSanitized() {
        #expect(DatasetBuilder.vocabularyPath(field: 0, name: "user") == "vocab/00-user.tsv")
        #expect(DatasetBuilder.vocabularyPath(field: 9, name: "city") == "vocab/09-city.tsv")
        #expect(DatasetBuilder.vocabularyPath(field: 10, name: "C1") == "vocab/10-C1.tsv")
        #expect(DatasetBuilder.vocabularyPath(field: 123, name: "a b/c.d-e_f") == "vocab/123-a_b_c_d-e_f.tsv")
        for field in [0, 5, 10, 99, 100, 4096] {
            let expected = "vocab/" + (field < 10 ? "0\(field)" : "\(field)") + "-x.tsv"
            #expect(DatasetBuilder.vocabularyPath(field: field, name: "x") == expected)
        }
    }
}
