import Foundation
import NFMFormat
@testable import NFMModel
import Testing

/// The starting bias: 0 for sampled negatives (the authors' initialisation, so Frappe results stay as
/// they are), the label mean or log-odds for an explicit label column.
@Suite struct InitialBiasTests {
    static func manifest(label: DatasetManifest.LabelSummary?, instances: Int) -> DatasetManifest {
        var counts = DatasetManifest.Counts()
        counts.train = instances
        var manifest = DatasetManifest(
            tool: "t", name: "m", definition: nil, seed: 0, negativeRule: nil, inputs: [], counts: counts,
            labels: .init(positive: 1, negative: 0), layout: .sparse, fields: [], featureCount: 1, files: [], shards: [])
        manifest.label = label
        return manifest
    }

    @Test func samplingDatasetsStartAtZero() {
        let manifest = Self.manifest(label: nil, instances: 10)
        #expect(ModelDefaults.initialBias(for: manifest, loss: .squared) == 0)
        #expect(ModelDefaults.initialBias(for: manifest, loss: .log) == 0)
    }

    @Test func labelledDatasetsStartAtTheirMeanOrLogOdds() {
        let ratings = Self.manifest(
            label: .init(column: "rating", type: "real", minimum: 1, maximum: 5, mean: 3.6, atMaximum: 2), instances: 10)
        #expect(ModelDefaults.initialBias(for: ratings, loss: .squared) == 3.6)
        let clicks = Self.manifest(
            label: .init(column: "click", type: "binary", minimum: 0, maximum: 1, mean: 0.25, atMaximum: 25), instances: 100)
        #expect(abs(ModelDefaults.initialBias(for: clicks, loss: .log) - Float(log(0.25 / 0.75))) < 1e-6)
        let allPositive = Self.manifest(
            label: .init(column: "click", type: "binary", minimum: 1, maximum: 1, mean: 1, atMaximum: 7), instances: 7)
        #expect(ModelDefaults.initialBias(for: allPositive, loss: .log).isFinite)
    }
}
