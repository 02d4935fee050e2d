import Foundation
import NFMFormat
import NFMTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

private func finishes<T>(within seconds: Double, unblocking fifo: String, _ body: @escaping @Sendable () -> T) -> T? {
    TestSupport.finishes(within: seconds, unblocking: fifo, body)
}

/// The manifest is the root of trust: its checksum, its paths and its consistency are checked by every
/// reader and by `verify`, which never opens a path outside the dataset and never blocks on a FIFO.
@Suite struct ManifestTrustTests {
    func dataset() throws -> (String, DatasetManifest) {
        try TestSupport.build(definition: "frappe.json", input: TestSupport.fixture("frappe-synthetic.tsv")) {
            $0.definition.shardRows = 2000
        }
    }

    /// Rewrites the manifest after `edit`; with `rehash`, also `manifest.sha256` (a careful forger), so that
    /// only the consistency checks stand between the edit and a reader.
    func rewrite(_ directory: String, rehash: Bool, _ edit: (inout DatasetManifest) -> Void) throws {
        var manifest = try DatasetManifest.read(directory: directory).manifest
        edit(&manifest)
        let bytes = try manifest.encoded()
        _ = TestSupport.writeBytes(bytes, named: DatasetManifest.fileName, in: directory)
        if rehash {
            _ = TestSupport.write(DatasetManifest.digestLine(SHA256.hexDigest(of: bytes)), named: DatasetManifest.checksumFileName, in: directory)
        }
    }

    func loadError(_ directory: String) throws -> NFMError {
        try #require(throws: NFMError.self) { try DatasetManifest.load(directory: directory) }
    }

    @Test func anIntactDatasetLoadsAndEveryShardReads() throws {
        let (directory, manifest) = try dataset()
        let (loaded, _) = try DatasetManifest.load(directory: directory)
        #expect(loaded == manifest)
        for shard in manifest.shards { #expect(try loaded.readShard(shard, in: directory).rowCount == shard.rows) }
        #expect(try DatasetVerifier.verify(directory: directory).isValid)
    }

    static let unsafePaths = ["../x", "/etc/passwd", "a/../../x", "train/../../x", "./train/x", "train//x", "train\\x", "", "train/x\u{0}"]

    @Test(arguments: ["shards[0].file", "files[0].path", "fields[0].vocabulary"])
    func pathTraversalInEveryPathFieldIsRefusedAndNeverOpened(field: String) throws {
        let (directory, manifest) = try dataset()
        // A file outside the dataset with exactly the bytes the manifest expects: it must never be used.
        let target = field.hasPrefix("shards") ? manifest.shards[0].file : manifest.files[0].path
        let bytes = try ReadableFile.readAll(directory + "/" + target)
        _ = TestSupport.writeBytes(bytes, named: "x", in: directory + "/..")
        for path in Self.unsafePaths where !(path.isEmpty && field.hasPrefix("fields")) {  // "" = no vocabulary
            try rewrite(directory, rehash: true) { m in
                m = manifest
                switch field {
                case "shards[0].file": m.shards[0].file = path
                case "files[0].path": m.files[0].path = path
                default: m.fields[0].vocabulary = path
                }
            }
            let error = try loadError(directory)
            #expect(error.code == .manifest && error.position?.field == field, "\(path): \(error)")
            #expect(error.position?.value == NFMError.excerpt(path))
            #expect(error.message.hasPrefix("unsafe path"))
            let problems = try DatasetVerifier.verify(directory: directory).problems
            #expect(problems.contains { $0.kind == .inconsistentManifest && $0.detail.contains(field) })
            #expect(problems.contains { $0.path == path && $0.kind == .unsafePath } || field.hasPrefix("fields"))
        }
    }

    @Test func aSymlinkLeavingTheDatasetIsRefused() throws {
        let (directory, manifest) = try dataset()
        let shard = manifest.shards[0]
        let outside = TestSupport.temporaryDirectory("outside")
        try FileManager.default.moveItem(atPath: directory + "/" + shard.file, toPath: outside + "/shard")
        try FileManager.default.createSymbolicLink(atPath: directory + "/" + shard.file, withDestinationPath: outside + "/shard")
        let error = try #require(throws: NFMError.self) { try manifest.readShard(shard, in: directory) }
        #expect(error.code == .manifest && error.position?.field == "shards[0].file" && error.message.contains("symbolic link"))
        #expect(try DatasetVerifier.verify(directory: directory).problems.map(\.kind) == [.unsafePath])
        // A symlinked split directory is refused too.
        try FileManager.default.removeItem(atPath: directory + "/" + shard.file)
        try FileManager.default.moveItem(atPath: outside + "/shard", toPath: directory + "/" + shard.file)
        try FileManager.default.moveItem(atPath: directory + "/train", toPath: outside + "/train")
        try FileManager.default.createSymbolicLink(atPath: directory + "/train", withDestinationPath: outside + "/train")
        #expect(throws: NFMError.self) { try manifest.readShard(shard, in: directory) }
        let kinds = Set(try DatasetVerifier.verify(directory: directory).problems.map(\.kind))
        #expect(kinds == [.unsafePath])
    }

    @Test(arguments: ["shard", DatasetManifest.fileName, DatasetManifest.checksumFileName])
    func aFIFOInPlaceOfAFileIsAnErrorNotAHang(which: String) throws {
        let (directory, manifest) = try dataset()
        let name = which == "shard" ? manifest.shards[1].file : which
        try FileManager.default.removeItem(atPath: directory + "/" + name)
        #expect(mkfifo(directory + "/" + name, 0o644) == 0)
        let outcome = try #require(finishes(within: 20, unblocking: directory + "/" + name) {
            Result { try DatasetVerifier.verify(directory: directory) }
        }, "verify blocked on a FIFO")
        let load = try #require(finishes(within: 20, unblocking: directory + "/" + name) {
            Result { try DatasetManifest.load(directory: directory).manifest.readShard(manifest.shards[1], in: directory) }
        }, "a reader blocked on a FIFO")
        #expect(throws: NFMError.self) { try load.get() }
        switch which {
        case "shard":
            let problems = try outcome.get().problems
            #expect(problems.map(\.kind) == [.notRegularFile] && problems.first?.path == name)
        case DatasetManifest.fileName:
            #expect(throws: NFMError.self) { try outcome.get() }
        default:
            #expect(try outcome.get().problems.map(\.kind) == [.manifestChecksum])
        }
    }

    @Test func editsWithoutTheChecksumAreRefused() throws {
        let (directory, manifest) = try dataset()
        let edits: [(String, (inout DatasetManifest) -> Void)] = [
            ("swapped labels", { swap(&$0.labels.positive, &$0.labels.negative) }),
            ("relabelled split", { $0.shards[$0.shards.count - 1].split = .train }),
            ("listed twice", { $0.shards.append($0.shards[0]) }),
            ("featureCount", { $0.featureCount += 1 }),
        ]
        for (label, edit) in edits {
            try rewrite(directory, rehash: false) { m in
                m = manifest
                edit(&m)
            }
            let error = try loadError(directory)
            #expect(error.code == .manifest && error.position?.file == directory + "/manifest.sha256", "\(label)")
            #expect(error.message.contains("checksum mismatch"))
            #expect(try DatasetVerifier.verify(directory: directory).problems.contains { $0.kind == .manifestChecksum })
        }
        try FileManager.default.removeItem(atPath: directory + "/" + DatasetManifest.checksumFileName)
        #expect(try loadError(directory).message.contains("missing"))
    }

    @Test func rehashedInconsistenciesAreStillRefused() throws {
        let (directory, manifest) = try dataset()
        let last = manifest.shards.count - 1
        let edits: [(String, (inout DatasetManifest) -> Void)] = [
            ("shards[\(last)].file", { $0.shards[last].split = .train }),  // a test shard relabelled as train
            ("shards[\(manifest.shards.count)].file", { $0.shards.append($0.shards[0]) }),
            ("featureCount", { $0.featureCount += 1 }),
            ("counts.validation", { $0.counts.validation += 1 }),
            ("fields[1].offset", { $0.fields[1].offset -= 1 }),
            ("shards[0].rows", { $0.shards[0].rows = 1 << 62 }),
            ("files[0].sha256", { $0.files[0].sha256 = "ABC" }),
            ("fields[2].vocabulary", { $0.files.removeAll { f in f.path == manifest.fields[2].vocabulary } }),
            ("label.minimum", { $0.label = .init(column: "y", type: "real", minimum: 2, maximum: 1, mean: 1, atMaximum: 1) }),
            ("label.atMaximum", { $0.label = .init(column: "y", type: "binary", minimum: 0, maximum: 1, mean: 1, atMaximum: 1 << 40) }),
        ]
        for (field, edit) in edits {
            try rewrite(directory, rehash: true) { m in
                m = manifest
                edit(&m)
            }
            let error = try loadError(directory)
            #expect(error.code == .manifest && error.position?.field == field, "\(field): \(error)")
            #expect(!(try DatasetVerifier.verify(directory: directory).isValid))
        }
    }

    @Test func readersCheckEveryShardAgainstTheManifest() throws {
        let (directory, manifest) = try dataset()
        let shard = manifest.shards[2]
        var bytes = try ReadableFile.readAll(directory + "/" + shard.file)
        bytes[bytes.count / 2] ^= 0x10
        _ = TestSupport.writeBytes(bytes, named: shard.file, in: directory)
        let error = try #require(throws: NFMError.self) { try manifest.readShard(shard, in: directory) }
        #expect(error.code == .corruptShard && error.position?.file == directory + "/" + shard.file)
        #expect(error.position?.field == "sha256" && error.message.contains("checksum mismatch"))
        _ = TestSupport.writeBytes(bytes + [0], named: shard.file, in: directory)
        let size = try #require(throws: NFMError.self) { try manifest.readShard(shard, in: directory) }
        #expect(size.position?.field == "bytes" && size.position?.value == "\(bytes.count + 1)")
    }

    /// A forged shard (and a re-hashed manifest listing it) whose rows disagree with the manifest.
    @Test(arguments: ["index[1]", "label[3]"])
    func aShardDisagreeingWithTheManifestIsRefused(field: String) throws {
        let (directory, manifest) = try dataset()
        var block = try manifest.readShard(manifest.shards[0], in: directory)
        if field == "index[1]" {
            // Field 1's index moved into field 2's range: inside featureCount, outside its field.
            block.indices[1] = UInt32(manifest.fields[2].offset)
        } else {
            block.labels[3] = 5
        }
        let bytes = try ShardCodec.encode(block, level: 1)
        _ = TestSupport.writeBytes(bytes, named: manifest.shards[0].file, in: directory)
        try rewrite(directory, rehash: true) { m in
            m.shards[0].bytes = bytes.count
            m.shards[0].sha256 = SHA256.hexDigest(of: bytes)
        }
        let (edited, _) = try DatasetManifest.load(directory: directory)
        let error = try #require(throws: NFMError.self) { try edited.readShard(edited.shards[0], in: directory) }
        #expect(error.code == .corruptShard && error.position?.field == field)
        #expect(try DatasetVerifier.verify(directory: directory).problems.map(\.kind) == [.undecodable])
    }

    @Test func verifyNamesMissingDirectoriesAndPrintsKindsAsWords() throws {
        let missing = TestSupport.temporaryDirectory() + "/nothere"
        let error = try #require(throws: NFMError.self) { try DatasetVerifier.verify(directory: missing) }
        #expect(error.code == .io && error.message == "no such directory" && error.position?.file == missing)
        let file = TestSupport.write("x", named: "file", in: TestSupport.temporaryDirectory())
        #expect(try #require(throws: NFMError.self) { try DatasetVerifier.verify(directory: file) }.code == .io)
        for kind in DatasetVerifier.Problem.Kind.allCases {
            #expect(kind.rawValue.allSatisfy { $0.isLowercase || $0 == " " }, "\(kind.rawValue)")
        }
        let problem = DatasetVerifier.Problem(path: "a", kind: .checksumMismatch, detail: "d")
        #expect(problem.description == "a: checksum mismatch — d")
    }

    @Test func strayLinksAndSpecialFilesAreReported() throws {
        let (directory, _) = try dataset()
        try FileManager.default.createSymbolicLink(atPath: directory + "/train/link.nfms", withDestinationPath: "/etc/passwd")
        #expect(mkfifo(directory + "/vocab/pipe", 0o644) == 0)
        _ = TestSupport.write("{}", named: ".nfm-owner", in: directory)
        let problems = try #require(finishes(within: 20, unblocking: directory + "/vocab/pipe") {
            Result { try DatasetVerifier.verify(directory: directory) }
        }).get().problems
        #expect(problems.map(\.path) == ["train/link.nfms", "vocab/pipe"])
        #expect(problems.map(\.kind) == [.unsafePath, .notRegularFile])
    }
}
