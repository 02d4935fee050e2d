extension DatasetManifest {
    /// Reads one of this manifest's shards from `directory`, trusting nothing it has not checked.
    ///
    /// In one pass over the file's bytes: opens it confined to the directory (`ManifestPath`: regular file,
    /// no symlink), checks its size and SHA-256 against the manifest, decodes it (`ShardCodec.decode`), and
    /// checks its row count, layout and field count against the manifest, every label against the range of
    /// the manifest's two label values, and every feature index against
    /// its field's range `offset ..< offset + cardinality` (sparse layout: `0 ..< featureCount`). Stops at
    /// the first mismatch with `.corruptShard` naming the file, the field and the value (`.manifest` for a
    /// path that is unsafe or missing). O(file bytes + rows × fields).
    public func readShard(_ shard: Shard, in directory: String) throws -> ShardBlock {
        let path = directory + "/" + shard.file
        func fail(_ field: String, _ value: any CustomStringConvertible, _ what: String) -> NFMError {
            ShardCodec.corrupt(path, field: field, value: value, what)
        }
        let field = shards.firstIndex(of: shard).map { "shards[\($0)].file" } ?? "shards.file"
        let file = try ManifestPath.open(shard.file, in: directory, field: field)
        let size = try file.size()
        guard size == shard.bytes else { throw fail("bytes", size, "the manifest says \(shard.bytes) bytes") }
        let bytes = try file.readToEnd()
        let digest = SHA256.hexDigest(of: bytes)
        guard digest == shard.sha256 else {
            throw fail("sha256", digest, "checksum mismatch: the manifest says \(shard.sha256)")
        }
        let block = try ShardCodec.decode(bytes, name: path)
        guard block.rowCount == shard.rows else { throw fail("rows", block.rowCount, "the manifest says \(shard.rows) rows") }
        guard block.layout == layout else { throw fail("layout", "\(block.layout)", "the manifest's layout is \(layout)") }
        guard layout == .sparse || block.fieldCount == fields.count else {
            throw fail("fieldCount", block.fieldCount, "the manifest has \(fields.count) fields")
        }
        if let row = firstLabelOutOfRange(block) {
            throw fail("label[\(row)]", block.labels[row], "outside the manifest's labels \(labels.negative), \(labels.positive)")
        }
        if let (entry, index) = firstIndexOutOfRange(block) {
            let owner = layout == .fixed ? " of field \(fields[entry % fields.count].name)" : ""
            throw fail("index[\(entry)]", index, "outside the range\(owner) in the manifest")
        }
        return block
    }

    /// The first row whose label lies outside [min, max] of the manifest's two label values.
    func firstLabelOutOfRange(_ block: ShardBlock) -> Int? {
        let (low, high) = (min(labels.negative, labels.positive), max(labels.negative, labels.positive))
        return block.labels.firstIndex { !($0 >= low && $0 <= high) }
    }

    /// The first stored entry whose feature index lies outside its field's range (sparse: outside
    /// `0 ..< featureCount`), as (entry number, index). One branch-free pass (`index − offset < cardinality`
    /// in unsigned arithmetic), then a second pass only to locate a failure.
    func firstIndexOutOfRange(_ block: ShardBlock) -> (Int, UInt32)? {
        block.indices.withUnsafeBufferPointer { indices in
            guard layout == .fixed, !fields.isEmpty else {
                let limit = UInt64(max(featureCount, 0))
                return indices.firstIndex { UInt64($0) >= limit }.map { ($0, indices[$0]) }
            }
            // Offsets and cardinalities are validated (sum ≤ 2^32).
            let low = fields.map { UInt64($0.offset) }
            let count = fields.map { UInt64($0.cardinality) }
            let width = fields.count
            func outside(_ entry: Int, _ f: Int) -> Bool { UInt64(indices[entry + f]) &- low[f] >= count[f] }
            var bad: UInt64 = 0
            low.withUnsafeBufferPointer { low in
                count.withUnsafeBufferPointer { count in
                    var entry = 0
                    while entry + width <= indices.count {
                        for f in 0..<width { bad |= UInt64(indices[entry + f]) &- low[f] >= count[f] ? 1 : 0 }
                        entry += width
                    }
                }
            }
            guard bad != 0 else { return nil }
            var entry = 0
            while entry + width <= indices.count {
                for f in 0..<width where outside(entry, f) { return (entry + f, indices[entry + f]) }
                entry += width
            }
            return nil
        }
    }
}

extension DatasetManifest {
    /// Reads a file the manifest lists in `files` (a vocabulary, the rejects) from `directory`: confined
    /// (`ManifestPath`: relative, no symlink, a regular file) and checked against its recorded size and
    /// SHA-256. Throws `.manifest` for an unlisted, unsafe or missing path, `.vocabulary` for a mismatch.
    /// `field` names the manifest field the path came from, for errors. O(file bytes).
    public func readListedFile(_ path: String, in directory: String, field: String) throws -> [UInt8] {
        guard let entry = files.first(where: { $0.path == path }) else {
            throw NFMError(
                .manifest, "not a listed file (with its SHA-256)",
                at: .init(file: directory + "/" + Self.fileName, field: field, value: NFMError.excerpt(path)))
        }
        let bytes = try ManifestPath.open(path, in: directory, field: field).readToEnd()
        let digest = SHA256.hexDigest(of: bytes)
        guard bytes.count == entry.bytes, digest == entry.sha256 else {
            throw NFMError(
                .vocabulary, "checksum mismatch: the manifest says \(entry.bytes) bytes with sha256 \(entry.sha256)",
                at: .init(file: directory + "/" + path, field: "sha256", value: digest))
        }
        return bytes
    }
}
