import Foundation
import NFMFormat
import NFMKernels
@testable import NFMModel
import NFMTestSupport
import Testing

@Suite struct StreamingTests {
    func dataset() throws -> String {
        try TestSupport.build(definition: "frappe.json", input: TestSupport.fixture("frappe-synthetic.tsv")) {
            $0.definition.shardRows = 500  // several shards per split
        }.directory
    }

    func train(_ data: Dataset, seed: UInt64 = 3, buffer: Int = 700) throws -> TrainingResult {
        var options = TrainingOptions()
        options.epochs = 3
        options.earlyStop = false
        options.seed = seed
        options.shuffleBuffer = buffer
        let config = ModelConfig(kind: .nfm, featureCount: data.manifest.featureCount, factors: 8, layers: [8])
        return try Trainer(dataset: data, config: config, options: options).run()
    }

    @Test func smallCacheLimitStreams() throws {
        let directory = try dataset()
        #expect(try Dataset.load(directory: directory).streamed == false)
        let streamed = try Dataset.load(directory: directory, cacheBytes: 1000)
        #expect(streamed.streamed && streamed.splits.isEmpty)
        #expect(streamed.rowCount(.train) == 6300)
    }

    @Test func streamedTrainingIsDeterministicAndLearns() throws {
        let directory = try dataset()
        let streamed = try Dataset.load(directory: directory, stream: true)
        let a = try train(streamed)
        let b = try train(streamed)
        #expect(a.records.map(\.validation) == b.records.map(\.validation))
        #expect(try train(streamed, seed: 4).records.map(\.validation) != a.records.map(\.validation))
        #expect(try train(streamed, buffer: 50).records.map(\.validation) != a.records.map(\.validation))
        // It learns about as well as the cached run (same model, same epochs, another row order).
        let cached = try train(Dataset.load(directory: directory))
        let rmseStreamed = a.records.last!.validation.rmse!
        let rmseCached = cached.records.last!.validation.rmse!
        #expect(rmseStreamed < a.records.first!.validation.rmse!)
        #expect(abs(rmseStreamed - rmseCached) < 0.05)
    }

    @Test func streamedEvaluationEqualsCachedEvaluation() throws {
        let directory = try dataset()
        let cached = try Dataset.load(directory: directory)
        let model = try train(cached).bestModel
        let predictor = Predictor(model: model, threads: 1)
        let streamed = try Dataset.load(directory: directory, stream: true)
        for split in Split.allCases {
            let a = try predictor.evaluate(split, of: cached).rmse!
            let b = try predictor.evaluate(split, of: streamed).rmse!
            #expect(abs(a - b) < 1e-6, "\(split)")
        }
    }

    @Test func shuffleBufferEmitsEveryRowOncePerEpoch() {
        for capacity in [1, 7, 100, 1000] {
            let buffer = ShuffleBuffer(rows: capacity, fieldCount: 2)
            var random = Xoshiro256(seed: 5)
            var seen: [UInt32] = []
            let emit: (UnsafePointer<UInt32>, Float) -> Void = { features, label in
                #expect(features[1] == features[0] * 2 && Float(features[0]) == label)
                seen.append(features[0])
            }
            for row in 0..<UInt32(500) {
                let features = [row, row * 2]
                features.withUnsafeBufferPointer { buffer.push($0.baseAddress!, Float(row), random: &random, emit: emit) }
            }
            buffer.drain(random: &random, emit: emit)
            #expect(seen.sorted() == Array(0..<500))
            if capacity > 1 { #expect(seen != Array(0..<500)) }
        }
    }
}
