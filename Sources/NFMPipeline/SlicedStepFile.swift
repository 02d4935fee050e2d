import NFMFormat

/// A step file cut into independently checked slices, so a reader takes one slice with a positioned read
/// instead of the whole file (the map's values grouped by merge shard, a merge shard's output grouped by
/// partition).
///
/// Layout (little-endian): magic `NFMSTEP\0` (8 bytes), version `u32` (1), kind `u32` (four ASCII bytes:
/// `MVAL`, `MSHD`), plan id `u64`, slice count `n` `u64`, then `n` × (length `u64`, checksum `u64`), then a
/// checksum `u64` of every header byte before it (`StepFile.checksum`), then the `n` slices back to back.
/// A reader refuses a missing file, another kind, version or plan (stale), another slice count, a damaged
/// header, a file size other than the header's total (truncated) and a slice whose checksum does not
/// match: each an `NFMError` `.dataset` (exit 4) naming the file.
enum SlicedStepFile {
    /// Bytes before the slice table.
    static let fixedBytes = 32

    /// Writes `slices` as a sliced step file of `kind` (atomically).
    static func write(_ slices: [StepWriter], kind: String, plan: UInt64, to path: String) throws {
        var head = StepFile.magic
        head += withUnsafeBytes(of: StepFile.version.littleEndian, Array.init)
        head += Array(kind.utf8.prefix(4))
        head += withUnsafeBytes(of: plan.littleEndian, Array.init)
        head += withUnsafeBytes(of: UInt64(slices.count).littleEndian, Array.init)
        for slice in slices {
            head += withUnsafeBytes(of: UInt64(slice.bytes.count).littleEndian, Array.init)
            let sum = slice.bytes.withUnsafeBytes { StepFile.checksum($0) }
            head += withUnsafeBytes(of: sum.littleEndian, Array.init)
        }
        let sum = head.withUnsafeBytes { StepFile.checksum($0) }
        head += withUnsafeBytes(of: sum.littleEndian, Array.init)
        let file = AtomicStepFile(path: path)
        try file.open()
        try file.append(head)
        for slice in slices { try file.append(slice.bytes) }
        try file.commit()
    }

    /// Reads slice `index` of the sliced step file at `path`, which must hold `slices` slices (see the type).
    static func read(_ path: String, kind: String, plan: UInt64, slices: Int, index: Int) throws -> StepReader {
        try Reader(path, kind: kind, plan: plan, slices: slices).slice(index)
    }

    /// An open sliced step file whose header has been checked: slices are read on demand (from any
    /// thread: positioned reads, no shared offset).
    final class Reader: @unchecked Sendable {
        let path: String
        private let file: PositionedFile
        /// Offset, length and checksum of every slice.
        private let table: [(offset: Int, length: Int, checksum: UInt64)]

        /// Opens `path` and checks its header (see the type).
        init(_ path: String, kind: String, plan: UInt64, slices: Int) throws {
            self.path = path
            do { file = try PositionedFile(path: path) } catch {
                throw NFMError(.dataset, "missing or unreadable step file (run the step that writes it)", at: .init(file: path))
            }
            let size = try file.size()
            let headBytes = fixedBytes + 16 * slices + 8
            let head = try SlicedStepFile.bytes(file, at: 0, count: min(headBytes, size))
            guard head.count >= fixedBytes, Array(head[0..<8]) == StepFile.magic else {
                throw NFMError(.dataset, "not a step file of this build (bad magic or truncated)", at: .init(file: path))
            }
            var reader = StepReader(head, path: path, range: 8..<head.count)
            let version = try reader.u32()
            let fileKind = String(decoding: head[12..<16], as: UTF8.self)
            reader.skip(4)
            guard version == StepFile.version, fileKind == kind else {
                throw NFMError(.dataset, "step file of kind \(fileKind) v\(version), expected \(kind) v\(StepFile.version)", at: .init(file: path))
            }
            guard try reader.u64() == plan else {
                throw NFMError(.dataset, "stale step file: written for another plan (rerun its step)", at: .init(file: path))
            }
            guard try reader.u64() == UInt64(slices), head.count == headBytes else {
                throw NFMError(.dataset, "damaged step file: not \(slices) slices, or truncated", at: .init(file: path))
            }
            let entries = try (0..<slices).map { _ in (length: try reader.u64(), checksum: try reader.u64()) }
            let sum = head.withUnsafeBytes { StepFile.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<(headBytes - 8)])) }
            guard try reader.u64() == sum else {
                throw NFMError(.dataset, "corrupted step file (header checksum mismatch)", at: .init(file: path))
            }
            var total = UInt64(headBytes)
            var table: [(offset: Int, length: Int, checksum: UInt64)] = []
            for entry in entries {
                let (next, overflow) = total.addingReportingOverflow(entry.length)
                guard !overflow, next <= UInt64(size) else {
                    throw NFMError(.dataset, "truncated step file: \(size) bytes, its slices need more", at: .init(file: path))
                }
                table.append((Int(total), Int(entry.length), entry.checksum))
                total = next
            }
            guard total == UInt64(size) else {
                throw NFMError(.dataset, "truncated step file: \(size) bytes, header says \(total)", at: .init(file: path))
            }
            self.table = table
        }

        /// Slice `index`, its checksum checked.
        func slice(_ index: Int) throws -> StepReader {
            let entry = table[index]
            let bytes = try SlicedStepFile.bytes(file, at: entry.offset, count: entry.length)
            guard bytes.count == entry.length, bytes.withUnsafeBytes({ StepFile.checksum($0) }) == entry.checksum else {
                throw NFMError(.dataset, "corrupted step file (checksum mismatch in slice \(index))", at: .init(file: path))
            }
            return StepReader(bytes, path: path, range: 0..<bytes.count)
        }
    }

    /// `count` bytes of `file` from `offset` (fewer at its end).
    fileprivate static func bytes(_ file: PositionedFile, at offset: Int, count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = try out.withUnsafeMutableBytes {
                try file.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[done...]), at: offset + done)
            }
            if n == 0 { break }
            done += n
        }
        return Array(out[0..<done])
    }
}
