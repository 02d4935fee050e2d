extension DatasetManifest {
    /// Most features a dataset may have: feature indices are stored as UInt32.
    public static let maxFeatureCount = 1 << 32
    /// Largest byte count accepted for one listed file (2^48, 256 TiB), so sums cannot overflow.
    public static let maxFileBytes = 1 << 48

    /// Every internal inconsistency of the manifest, each a `.manifest` error at (`file`, field, value).
    ///
    /// Checks (FOUNDATION §5): every listed path is relative, normalised and not reserved
    /// (`ManifestPath.problem`); no path is listed twice; each shard lies under `<split>/`; shard rows and
    /// byte counts are in range and sum per split (checked) to `counts.<split>`; counts are not negative;
    /// SHA-256 values are 64 lowercase hex digits; fields have consecutive offsets from 0 whose
    /// cardinalities sum to `featureCount` ≤ 2^32; each vocabulary is a listed (hashed) file; a fixed layout
    /// has 1…`ShardHeader.maxFieldCount` fields; labels are finite. O(files + fields).
    public func consistencyProblems(file: String) -> [NFMError] {
        var problems: [NFMError] = []
        func report(_ field: String, _ value: any CustomStringConvertible, _ what: String) {
            problems.append(NFMError(.manifest, what, at: .init(file: file, field: field, value: NFMError.excerpt("\(value)"))))
        }
        checkPaths(report)
        checkShards(report)
        checkFields(report)
        let c = counts
        for (name, value) in [
            ("rowsRead", c.rowsRead), ("rowsRejected", c.rowsRejected), ("positives", c.positives),
            ("negatives", c.negatives), ("unsampleableRows", c.unsampleableRows),
        ] where value < 0 {
            report("counts.\(name)", value, "counts are not negative")
        }
        if !labels.positive.isFinite { report("labels.positive", labels.positive, "labels are finite numbers") }
        if !labels.negative.isFinite { report("labels.negative", labels.negative, "labels are finite numbers") }
        if let label {
            for (name, value) in [("minimum", Double(label.minimum)), ("maximum", Double(label.maximum)), ("mean", label.mean)]
            where !value.isFinite {
                report("label.\(name)", value, "label statistics are finite numbers")
            }
            if !(label.minimum <= label.maximum) { report("label.minimum", label.minimum, "is at most label.maximum") }
            if !(0...c.instances).contains(label.atMaximum) {
                report("label.atMaximum", label.atMaximum, "counts instances: 0…\(c.instances)")
            }
        }
        return problems
    }

    /// Every listed path: confined text, not reserved, listed once.
    private func checkPaths(_ report: (String, any CustomStringConvertible, String) -> Void) {
        var seen: [String: String] = [:]
        let listed = files.enumerated().map { ("files[\($0.offset)].path", $0.element.path) }
            + shards.enumerated().map { ("shards[\($0.offset)].file", $0.element.file) }
        for (field, path) in listed {
            if let problem = ManifestPath.problem(path) {
                report(field, path, "unsafe path: \(problem)")
            } else if ManifestPath.reservedNames.contains(path) {
                report(field, path, "\(path) is not a listed file")
            } else if let first = seen[path] {
                report(field, path, "listed twice (also \(first))")
            } else {
                seen[path] = field
            }
        }
        for (f, field) in fields.enumerated() where !field.vocabulary.isEmpty {
            if let problem = ManifestPath.problem(field.vocabulary) {
                report("fields[\(f)].vocabulary", field.vocabulary, "unsafe path: \(problem)")
            } else if seen[field.vocabulary]?.hasPrefix("files[") != true {
                report("fields[\(f)].vocabulary", field.vocabulary, "a vocabulary must be a listed file (with its SHA-256)")
            }
        }
        for (i, file) in files.enumerated() {
            if !(0...Self.maxFileBytes).contains(file.bytes) { report("files[\(i)].bytes", file.bytes, "a byte count 0…2^48") }
            if !Self.isDigest(file.sha256) { report("files[\(i)].sha256", file.sha256, "64 lowercase hexadecimal digits") }
        }
    }

    /// Shards: split directory, ranges, digests, and per-split row sums.
    private func checkShards(_ report: (String, any CustomStringConvertible, String) -> Void) {
        var sums: [Split: Int] = [:]
        for (i, shard) in shards.enumerated() {
            if !shard.file.hasPrefix(shard.split.rawValue + "/") {
                report("shards[\(i)].file", shard.file, "a \(shard.split.rawValue) shard lies under \(shard.split.rawValue)/")
            }
            if !(ShardCodec.headerSize...Self.maxFileBytes).contains(shard.bytes) {
                report("shards[\(i)].bytes", shard.bytes, "a shard has \(ShardCodec.headerSize)…2^48 bytes")
            }
            if !Self.isDigest(shard.sha256) { report("shards[\(i)].sha256", shard.sha256, "64 lowercase hexadecimal digits") }
            guard (0...ShardHeader.maxPayloadBytes / 4).contains(shard.rows) else {
                report("shards[\(i)].rows", shard.rows, "a shard holds 0…\(ShardHeader.maxPayloadBytes / 4) rows")
                sums[shard.split] = -1
                continue
            }
            let sum = sums[shard.split, default: 0]
            if sum >= 0 { sums[shard.split] = sum + shard.rows }  // < shards × 2^30: cannot overflow
        }
        for split in Split.allCases {
            let expected = counts[split]
            let sum = sums[split, default: 0]
            if sum >= 0, sum != expected {
                report("counts.\(split.rawValue)", expected, "the \(split.rawValue) shards hold \(sum) rows")
            }
        }
    }

    /// Fields: consecutive offsets from 0, cardinalities summing to `featureCount`, layout.
    private func checkFields(_ report: (String, any CustomStringConvertible, String) -> Void) {
        guard (0...Self.maxFeatureCount).contains(featureCount) else {
            report("featureCount", featureCount, "feature indices are UInt32: 0…2^32 features")
            return
        }
        if layout == .fixed && !(1...ShardHeader.maxFieldCount).contains(fields.count) {
            report("fields", fields.count, "a fixed layout has 1…\(ShardHeader.maxFieldCount) fields")
        }
        var offset = 0
        var names: Set<String> = []
        for (f, field) in fields.enumerated() {
            if !names.insert(field.name).inserted { report("fields[\(f)].name", field.name, "field names are distinct") }
            guard field.offset == offset else {
                report("fields[\(f)].offset", field.offset, "fields are consecutive: this one starts at \(offset)")
                return
            }
            guard (0...Self.maxFeatureCount - offset).contains(field.cardinality) else {
                report("fields[\(f)].cardinality", field.cardinality, "at most \(Self.maxFeatureCount - offset) here")
                return
            }
            offset += field.cardinality
        }
        if !fields.isEmpty, offset != featureCount {
            report("featureCount", featureCount, "the fields' cardinalities sum to \(offset)")
        }
    }

    /// Whether `text` is a SHA-256 digest in lowercase hexadecimal.
    static func isDigest(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}

extension DatasetManifest.Counts {
    /// Instances of `split`.
    public subscript(split: Split) -> Int {
        switch split {
        case .train: train
        case .validation: validation
        case .test: test
        }
    }
}
