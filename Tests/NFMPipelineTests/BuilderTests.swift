import Foundation
import NFMFormat
import NFMPipeline
import NFMTestSupport
import Testing

@Suite struct BuilderTests {
    let frappe = TestSupport.fixture("frappe-synthetic.tsv")
    let movielens = TestSupport.fixture("movielens-synthetic.csv")

    @Test func countsAndSplitsAreExact() throws {
        let (_, manifest) = try TestSupport.build(definition: "frappe.json", input: frappe)
        let c = manifest.counts
        #expect(c.rowsRead == 3000 && c.positives == 3000 && c.unsampleableRows == 0)
        #expect(c.negatives == 6000 && c.instances == 9000)
        #expect((c.train, c.validation, c.test) == (6300, 1800, 900))
        #expect(manifest.shards.reduce(0) { $0 + $1.rows } == 9000)
        #expect(manifest.featureCount == manifest.fields.reduce(0) { $0 + $1.cardinality })
    }

    @Test func splitBoundariesRoundUpCumulatively() {
        let ratios = DatasetDefinition.SplitRatios(train: 0.7, validation: 0.2, test: 0.1)
        #expect(DatasetBuilder.splitBoundaries(total: 288_609, ratios: ratios) == (202_027, 259_749))
        #expect(DatasetBuilder.splitBoundaries(total: 2_006_859, ratios: ratios) == (1_404_802, 1_806_174))
        #expect(DatasetBuilder.splitBoundaries(total: 10, ratios: ratios) == (7, 9))
        #expect(DatasetBuilder.splitBoundaries(total: 1, ratios: ratios) == (1, 1))
    }

    @Test func vocabulariesFollowFirstAppearance() throws {
        let (directory, manifest) = try TestSupport.build(definition: "frappe.json", input: frappe)
        let lines = try String(contentsOfFile: frappe, encoding: .utf8).split(separator: "\n").dropFirst()
        var firstSeen: [String] = []
        var seen: Set<String> = []
        for line in lines {
            let item = String(line.split(separator: "\t", omittingEmptySubsequences: false)[1])
            if seen.insert(item).inserted { firstSeen.append(item) }
        }
        let vocabulary = try Vocabulary.load(path: directory + "/" + manifest.fields[1].vocabulary)
        #expect((0..<vocabulary.count).map { vocabulary.value(at: $0) } == firstSeen)
        #expect(manifest.fields[1].cardinality == firstSeen.count)
    }

    @Test(arguments: ["user", "context"])
    func everyNegativeObeysTheFrappeRule(rule: String) throws {
        let (directory, manifest) = try TestSupport.build(definition: "frappe.json", input: frappe) { $0.rule = rule }
        try checkNegatives(directory, manifest, keyFields: rule == "user" ? [0] : [0, 2, 3, 4, 5, 6, 7, 8, 9], corrupted: 1)
    }

    @Test func everyNegativeObeysTheMovieLensRule() throws {
        let (directory, manifest) = try TestSupport.build(definition: "movielens.json", input: movielens)
        #expect(manifest.counts.instances == 9000)
        try checkNegatives(directory, manifest, keyFields: [0, 1], corrupted: 2)
    }

    /// Every negative's (rule key, corrupted value) must never occur among the positives, and each
    /// negative must copy a positive's key (same rule key and context).
    func checkNegatives(_ directory: String, _ manifest: DatasetManifest, keyFields: [Int], corrupted: Int) throws {
        var positives: Set<[UInt32]> = []
        var positiveContexts: Set<[UInt32]> = []
        var negatives: [[UInt32]] = []
        let fields = manifest.fields.count
        for split in Split.allCases {
            let block = try TestSupport.instances(directory, manifest, split)
            for row in 0..<block.rowCount {
                let features = Array(block.indices[row * fields..<(row + 1) * fields])
                if block.labels[row] == 1 {
                    positives.insert(keyFields.map { features[$0] } + [features[corrupted]])
                    positiveContexts.insert(features.enumerated().filter { $0.offset != corrupted }.map(\.element))
                } else {
                    #expect(block.labels[row] == -1)
                    negatives.append(features)
                }
            }
        }
        #expect(negatives.count == 2 * manifest.counts.positives)
        var violations = 0
        for features in negatives {
            if positives.contains(keyFields.map { features[$0] } + [features[corrupted]]) { violations += 1 }
            #expect(positiveContexts.contains(features.enumerated().filter { $0.offset != corrupted }.map(\.element)))
            let field = manifest.fields[corrupted]
            #expect((field.offset..<field.offset + field.cardinality).contains(Int(features[corrupted])))
        }
        #expect(violations == 0)
    }

    @Test func sameSeedIsByteIdenticalWhateverThreadsAndBuffers() throws {
        let (reference, _) = try TestSupport.build(definition: "frappe.json", input: frappe) {
            $0.definition.shardRows = 1000
        }
        let variants: [(inout DatasetBuilder.Options) -> Void] = [
            { $0.threads = 1 },
            { $0.threads = 2 },
            { $0.threads = 7; $0.readBufferSize = 16 },
            { $0.readBufferSize = 333 },
            { $0.memoryBudget = 4096 },  // forces many spilled buckets and a spilled positive file
        ]
        let expected = TestSupport.snapshot(reference)
        #expect(expected.keys.contains("manifest.json") && expected.count > 15)
        for configure in variants {
            let (directory, _) = try TestSupport.build(definition: "frappe.json", input: frappe) {
                $0.definition.shardRows = 1000
                configure(&$0)
            }
            #expect(TestSupport.snapshot(directory) == expected)
        }
    }

    @Test func differentSeedChangesNegativesSplitAndOrder() throws {
        let (a, manifestA) = try TestSupport.build(definition: "frappe.json", input: frappe, seed: 1)
        let (b, manifestB) = try TestSupport.build(definition: "frappe.json", input: frappe, seed: 2)
        #expect(manifestA.counts == manifestB.counts)
        let trainA = try TestSupport.instances(a, manifestA, .train)
        let trainB = try TestSupport.instances(b, manifestB, .train)
        #expect(trainA.indices != trainB.indices)
        // Same multiset of positives overall, but different negatives.
        func negatives(_ d: String, _ m: DatasetManifest) throws -> [[UInt32]] {
            try Split.allCases.flatMap { split -> [[UInt32]] in
                let block = try TestSupport.instances(d, m, split)
                return (0..<block.rowCount).filter { block.labels[$0] == -1 }.map {
                    Array(block.indices[$0 * 10..<($0 + 1) * 10])
                }
            }.sorted { $0.lexicographicallyPrecedes($1) }
        }
        #expect(try negatives(a, manifestA) != negatives(b, manifestB))
    }

    @Test func unsampleableRowsAreCountedNotLoopedOn() throws {
        let directory = TestSupport.temporaryDirectory()
        // User 0 used both items: no item is left for its negatives. User 1 used one of two: one left,
        // but two distinct negatives are needed.
        let input = TestSupport.write(
            "user\titem\tcnt\tdaytime\tweekday\tisweekend\thomework\tcost\tweather\tcountry\tcity\n"
                + "0\ta\t1\tm\tmon\twd\tu\tfree\tsun\tX\t1\n"
                + "0\tb\t1\tm\tmon\twd\tu\tfree\tsun\tX\t1\n"
                + "1\ta\t1\tm\tmon\twd\tu\tfree\tsun\tX\t1\n",
            named: "tiny.tsv", in: directory)
        let (_, manifest) = try TestSupport.build(definition: "frappe.json", input: input)
        #expect(manifest.counts.unsampleableRows == 3)
        #expect(manifest.counts.negatives == 0)
        #expect(manifest.counts.instances == 3)
    }

    @Test func badSettingsAreRefusedBeforeTheOutputIsTouched() throws {
        let cases: [(NFMError.Code, String, (inout DatasetBuilder.Options) -> Void)] = [
            (.definition, "shardRows", { $0.definition.shardRows = 1 << 40 }),
            (.definition, "shardRows", { $0.definition.shardRows = 0 }),
            (.definition, "negatives.perPositive", { $0.definition.negatives?.perPositive = -1 }),
            (.definition, "zstdLevel", { $0.definition.zstdLevel = 99 }),
            (.usage, "nosuchrule", { $0.rule = "nosuchrule" }),
            (.usage, "threads", { $0.threads = 0 }),
            (.usage, "memory budget", { $0.memoryBudget = 0 }),
        ]
        for (code, mentioned, configure) in cases {
            let out = TestSupport.temporaryDirectory() + "/out"
            var options = DatasetBuilder.Options(
                definition: try DatasetDefinition.load(path: TestSupport.pipeline("frappe.json")), inputPath: frappe,
                outputDirectory: out)
            configure(&options)
            let error = try #require(throws: NFMError.self) { try DatasetBuilder.build(options) }
            #expect(error.code == code)
            #expect(error.description.contains(mentioned))
            #expect(!FileManager.default.fileExists(atPath: out))
        }
    }

    /// Skipped when `../shared` is absent (licence: the file is never bundled).
    @Test(.enabled(if: TestSupport.realFrappe != nil, "needs ../shared/datasets/frappe/frappe.csv"))
    func realFrappeMatchesThePublishedEncoding() throws {
        let path = try #require(TestSupport.realFrappe)
        let (directory, manifest) = try TestSupport.build(definition: "frappe.json", input: path)
        #expect(manifest.featureCount == 5382)
        #expect(manifest.fields.map(\.cardinality) == [957, 4082, 7, 7, 2, 3, 2, 9, 80, 233])
        #expect(manifest.fields.map(\.offset) == [0, 957, 5039, 5046, 5053, 5055, 5058, 5060, 5069, 5149])
        let c = manifest.counts
        #expect(c.instances == 288_609 && c.unsampleableRows == 0 && c.rowsRejected == 0)
        #expect((c.train, c.validation, c.test) == (202_027, 57_722, 28_860))
        try checkNegatives(directory, manifest, keyFields: [0], corrupted: 1)
        #expect(try DatasetVerifier.verify(directory: directory).isValid)
    }
}

@Suite struct RandomnessTests {
    @Test(arguments: [1, 2, 3, 17, 64, 1000, 4097, 288_609])
    func feistelIsAPermutation(count: Int) {
        let permutation = FeistelPermutation(count: UInt64(count), seed: 42)
        var seen = [Bool](repeating: false, count: count)
        for value in 0..<count {
            let position = Int(permutation.position(of: UInt64(value)))
            #expect(!seen[position])
            seen[position] = true
        }
        #expect(seen.allSatisfy { $0 })
    }

    @Test func feistelDependsOnSeedAndLooksShuffled() {
        let a = FeistelPermutation(count: 1000, seed: 1)
        let b = FeistelPermutation(count: 1000, seed: 2)
        let pa = (0..<1000).map { a.position(of: UInt64($0)) }
        let pb = (0..<1000).map { b.position(of: UInt64($0)) }
        #expect(pa != pb)
        let fixedPoints = pa.enumerated().filter { UInt64($0.offset) == $0.element }.count
        #expect(fixedPoints < 10)
        // First 100 instances spread over the whole range (mean near 500).
        let mean = pa.prefix(100).reduce(0, +) / 100
        #expect((350...650).contains(mean))
    }

    @Test func boundedDrawsAreUniform() {
        var generator = SplitMix64(seed: 9)
        var histogram = [Int](repeating: 0, count: 7)
        for _ in 0..<70_000 { histogram[Int(generator.below(7))] += 1 }
        #expect(histogram.allSatisfy { (9_400...10_600).contains($0) })
    }
}
