import NFMFormat

extension TestSupport {
    /// A small consistent manifest (3 fixed fields of 10 values, 70/20/10 instances, placeholder digests):
    /// the seed of the manifest mutation tests and of `Fuzz/`'s manifest and checkpoint corpora.
    public static func sampleManifest() -> DatasetManifest {
        let fields = (0..<3).map {
            DatasetManifest.Field(name: "f\($0)", offset: 10 * $0, cardinality: 10, vocabulary: "vocab/0\($0)-f\($0).tsv")
        }
        let digest = String(repeating: "ab", count: 32)
        var counts = DatasetManifest.Counts()
        (counts.train, counts.validation, counts.test) = (70, 20, 10)
        return DatasetManifest(
            tool: ToolInfo.name, name: "fuzz", definition: .init(file: "d.json", sha256: digest, text: "{}"), seed: 1,
            negativeRule: "user", inputs: [.init(name: "in.tsv", bytes: 10, sha256: digest)], counts: counts,
            labels: .init(positive: 1, negative: -1), layout: .fixed, fields: fields, featureCount: 30,
            files: fields.map { .init(path: $0.vocabulary, bytes: 5, sha256: digest) },
            shards: [
                .init(split: .train, file: "train/part-00000.nfms", rows: 70, bytes: 100, sha256: digest),
                .init(split: .validation, file: "validation/part-00000.nfms", rows: 20, bytes: 60, sha256: digest),
                .init(split: .test, file: "test/part-00000.nfms", rows: 10, bytes: 55, sha256: digest),
            ])
    }
}
