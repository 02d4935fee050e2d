import Foundation
import NFMFormat
import NFMTestSupport
import Testing

@testable import NFMModel

/// Checkpoints with extreme or flipped header bytes, forged (re-hashed) configurations that claim huge
/// sizes, and non-finite weights: every one is an `NFMError`, found before anything large is allocated.
@Suite struct CheckpointCorruptionTests {
    static let name = "runs/x/model.nfmc"
    static let extremes: [UInt64] = [0, 1, 1 << 31, (1 << 32) - 1, 1 << 40, 1 << 63, UInt64.max]

    static func sample(_ config: ModelConfig = ModelConfig(kind: .nfm, featureCount: 21, factors: 4, layers: [3])) throws
        -> Checkpoint
    {
        let model = Model(config: config)
        model.initialize(seed: 7)
        let fields = [DatasetManifest.Field(name: "f0", offset: 0, cardinality: config.featureCount, vocabulary: "")]
        let manifest = DatasetManifest(
            tool: ToolInfo.name, name: "t", definition: nil, seed: 1, negativeRule: nil, inputs: [], counts: .init(),
            labels: .init(positive: 1, negative: -1), layout: .fixed, fields: fields, featureCount: config.featureCount,
            files: [], shards: [])
        return Checkpoint(
            model: model, dataset: DatasetFingerprint(manifest: manifest, sha256: String(repeating: "0", count: 64)),
            training: nil, definition: nil, vocabularies: [])
    }

    /// A checkpoint file with a correct checksum around any header and payload (a careful forger).
    static func forged(_ header: Checkpoint.Header, payload: [UInt8], version: UInt32 = 1) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let body = Array(try encoder.encode(header)) + payload
        var out = Checkpoint.magic
        out.appendLittleEndian(version)
        out.appendLittleEndian(UInt32(0))
        out.appendLittleEndian(UInt64(body.count - payload.count))
        out.appendLittleEndian(UInt64(payload.count))
        out += Array(SHA256.hexDigest(of: body).utf8)
        return out + body
    }

    static func payload(of bytes: [UInt8]) -> [UInt8] {
        let h = Int(bytes.readLittleEndian(UInt64.self, at: 16))
        return Array(bytes[(96 + h)...])
    }

    func decodeError(_ bytes: [UInt8]) throws -> NFMError {
        try #require(throws: NFMError.self) { try Checkpoint.decode(bytes, name: Self.name) }
    }

    @Test func theSampleRoundTrips() throws {
        let checkpoint = try Self.sample()
        let decoded = try Checkpoint.decode(try checkpoint.encoded(), name: Self.name)
        #expect(decoded.model.config == checkpoint.model.config)
        #expect(decoded.model.embeddings.array == checkpoint.model.embeddings.array)
    }

    @Test func lengthAndVersionFieldsAtEveryExtremeAreNamed() throws {
        let bytes = try Self.sample().encoded()
        for (field, offset, width) in [("headerBytes", 16, 8), ("headerBytes", 24, 8), ("version", 8, 4), ("reserved", 12, 4)] {
            for value in Self.extremes {
                var mutant = bytes
                for i in 0..<width { mutant[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
                if mutant == bytes { continue }
                let error = try decodeError(mutant)
                #expect(error.code == .checkpoint && error.position?.file == Self.name && error.position?.field == field, "\(offset) = \(value): \(error)")
            }
        }
    }

    @Test func everyBitOfThePrefixAndTheHeaderIsChecked() throws {
        let bytes = try Self.sample().encoded()
        let headerEnd = 96 + Int(bytes.readLittleEndian(UInt64.self, at: 16))
        for byte in 0..<headerEnd {
            for bit in 0..<8 {
                var mutant = bytes
                mutant[byte] ^= 1 << bit
                let error = try decodeError(mutant)
                #expect(error.code == .checkpoint && error.position?.field != nil, "flip \(byte).\(bit)")
            }
        }
    }

    @Test func forgedConfigurationsClaimingHugeSizesAreRefusedBeforeAllocating() throws {
        let checkpoint = try Self.sample()
        let payload = Self.payload(of: try checkpoint.encoded())
        let edits: [(String, (inout Checkpoint.Header) -> Void)] = [
            ("featureCount 2^40", { $0.config.featureCount = 1 << 40 }),
            ("factors 2^31", { $0.config.factors = 1 << 31 }),
            ("layers [1e8]", { $0.config.layers = [100_000_000] }),
            ("layers [Int.max]", { $0.config.layers = [Int.max] }),
            ("featureCount Int.max", { $0.config.featureCount = Int.max }),
            ("factors and tensors agree, payload does not", {
                $0.config.factors = 1 << 20
                $0.tensors = $0.tensors.map { t in .init(name: t.name, count: t.name == "embeddings" ? 21 << 20 : t.count) }
            }),
            ("negative tensor", { $0.tensors[0].count = -1 }),
            ("tensor 2^62", { $0.tensors[0].count = 1 << 62 }),
            ("hidden dropout", { $0.config.hiddenDropout = [] }),
            ("LR with factors", { $0.config.kind = .lr; $0.config.factors = 1 << 31 }),
        ]
        for (label, edit) in edits {
            var header = checkpoint.header
            edit(&header)
            let error = try decodeError(try Self.forged(header, payload: payload))
            #expect(error.code == .checkpoint && error.position?.file == Self.name, "\(label): \(error)")
        }
    }

    @Test func nonFiniteWeightsAreADivergedRun() throws {
        let checkpoint = try Self.sample()
        let payload = Self.payload(of: try checkpoint.encoded())
        for (index, value, field) in [(0, Float.nan, "bias[0]"), (1 + 21 + 5, Float.infinity, "embeddings[5]")] {
            var bad = payload
            for i in 0..<4 { bad[4 * index + i] = UInt8(truncatingIfNeeded: value.bitPattern >> (8 * UInt32(i))) }
            let error = try decodeError(try Self.forged(checkpoint.header, payload: bad))
            #expect(error.code == .diverged && error.code.exitCode == 2 && error.position?.field == field, "\(error)")
        }
    }

    @Test func mutatedCheckpointsNeverTrap() throws {
        let checkpoint = try Self.sample()
        let bytes = try checkpoint.encoded()
        let json = Array(bytes[96..<(96 + Int(bytes.readLittleEndian(UInt64.self, at: 16)))])
        let payload = Self.payload(of: bytes)
        var mutator = ByteMutator(seed: 0x4E46_4D43)
        var decoded = 0
        for round in 0..<2_000 {
            let input: [UInt8]
            if round % 2 == 0 {
                input = mutator.mutate(bytes)
            } else if let header = try? JSONDecoder().decode(Checkpoint.Header.self, from: Data(mutator.mutate(json))) {
                input = try Self.forged(header, payload: mutator.below(4) == 0 ? mutator.mutate(payload) : payload)
            } else {
                continue
            }
            do {
                _ = try Checkpoint.decode(input, name: Self.name)
                decoded += 1
            } catch is NFMError {
            } catch {
                Issue.record("round \(round): not an NFMError: \(error)")
            }
        }
        #expect(decoded < 2_000)
    }

    @Test func vocabulariesAreCheckedAgainstTheManifest() throws {
        let (directory, manifest) = try TestSupport.build(definition: "frappe.json", input: TestSupport.fixture("frappe-synthetic.tsv"))
        #expect(try Checkpoint.vocabularies(of: manifest, directory: directory).count == manifest.fields.count)
        // A vocabulary path leaving the dataset (a manifest forged in memory: `load` refuses it on disk).
        _ = TestSupport.write("secret", named: "secret.txt", in: directory + "/..")
        var escaping = manifest
        escaping.fields[1].vocabulary = "../secret.txt"
        escaping.files[1].path = "../secret.txt"
        let unsafe = try #require(throws: NFMError.self) { try Checkpoint.vocabularies(of: escaping, directory: directory) }
        #expect(unsafe.code == .manifest && unsafe.position?.field == "fields[1].vocabulary" && unsafe.message.hasPrefix("unsafe path"))
        // A swapped vocabulary: same size, other bytes.
        let path = manifest.fields[2].vocabulary
        var bytes = try ReadableFile.readAll(directory + "/" + path)
        bytes.swapAt(bytes.count - 2, bytes.count - 3)
        _ = TestSupport.writeBytes(bytes, named: path, in: directory)
        let swapped = try #require(throws: NFMError.self) { try Checkpoint.vocabularies(of: manifest, directory: directory) }
        #expect(swapped.code == .vocabulary && swapped.position?.file == directory + "/" + path)
    }

    @Test func aDatasetWithACorruptShardIsRefusedCachedAndStreamed() throws {
        let dir = temporaryDirectory()
        defer { FileSystem.remove(dir) }
        let cards = [4, 5]
        try writeDataset(
            directory: dir, cardinalities: cards,
            splits: [.train: randomRows(count: 200, cardinalities: cards, seed: 1), .validation: randomRows(count: 50, cardinalities: cards, seed: 2)])
        let (manifest, _) = try DatasetManifest.load(directory: dir)
        let shard = manifest.shards[1]
        var bytes = try ReadableFile.readAll(dir + "/" + shard.file)
        bytes[bytes.count - 5] ^= 0x08
        _ = TestSupport.writeBytes(bytes, named: shard.file, in: dir)
        let cached = try #require(throws: NFMError.self) { try Dataset.load(directory: dir) }
        #expect(cached.code == .corruptShard && cached.position?.file == dir + "/" + shard.file && cached.position?.field == "sha256")
        let streamed = try Dataset.load(directory: dir, stream: true)
        let error = try #require(throws: NFMError.self) { try streamed.forEachShard(of: .train) { _ in } }
        #expect(error.code == .corruptShard && error.position?.file == dir + "/" + shard.file)
    }

    @Test func aFIFOShardDoesNotHangTraining() throws {
        let dir = temporaryDirectory()
        defer { FileSystem.remove(dir) }
        try writeDataset(directory: dir, cardinalities: [3], splits: [.train: randomRows(count: 20, cardinalities: [3], seed: 1)])
        let (manifest, _) = try DatasetManifest.load(directory: dir)
        let path = dir + "/" + manifest.shards[0].file
        try FileManager.default.removeItem(atPath: path)
        #expect(mkfifo(path, 0o644) == 0)
        let outcome = try #require(
            TestSupport.finishes(within: 20, unblocking: path) { Result { try Dataset.load(directory: dir) } }, "Dataset.load blocked")
        let error = try #require(throws: NFMError.self) { try outcome.get() }
        #expect(error.code == .manifest && error.message.contains("FIFO"))
    }
}
