import Foundation
import NFMFormat

/// The private binary files between the steps of a partitioned build (`OUT/.steps`).
///
/// Layout (little-endian): magic `NFMSTEP\0` (8 bytes), version `u32` (1), kind `u32` (four ASCII bytes:
/// `SCAN`, `ROWS`, `VOCB`, `MRGE`, `RMAP`, `BCKT`; labelled builds: `LSCN`, `LROW`, `LMRG`, `LTBL`,
/// `LBKT`, `LTRN`), plan id `u64` (the first 8 bytes of the SHA-256 of the build's `plan.json`),
/// payload length `u64`, payload checksum `u64` (`StepFile.checksum`), then the payload. A reader refuses a missing file, another kind or version, another plan (stale), a length
/// other than the file's, a checksum mismatch, and any size inside the payload that exceeds what is left:
/// each an `NFMError` `.dataset` (exit 4) naming the file.
enum StepFile {
    static let magic: [UInt8] = Array("NFMSTEP\0".utf8)
    static let version: UInt32 = 1
    static let headerBytes = 40

    /// A 64-bit checksum of `bytes`: 8-byte words folded with a multiply–xor–rotate mix (not
    /// cryptographic; it catches damaged and truncated files).
    static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> UInt64 {
        var h = seed ^ UInt64(bytes.count)
        var i = 0
        while i + 8 <= bytes.count {
            let word = bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            h = ((h ^ word) &* 0xBF58_476D_1CE4_E5B9)
            h = (h << 29) | (h >> 35)
            i += 8
        }
        while i < bytes.count {
            h = (h ^ UInt64(bytes[i])) &* 0x94D0_49BB_1331_11EB
            i += 1
        }
        return h ^ (h >> 31)
    }

    /// The 40-byte header of a payload.
    static func header(kind: String, plan: UInt64, length: Int, checksum: UInt64) -> [UInt8] {
        var out = magic
        out += withUnsafeBytes(of: version.littleEndian, Array.init)
        out += Array(kind.utf8.prefix(4))
        out += withUnsafeBytes(of: plan.littleEndian, Array.init)
        out += withUnsafeBytes(of: UInt64(length).littleEndian, Array.init)
        out += withUnsafeBytes(of: checksum.littleEndian, Array.init)
        return out
    }

    /// Writes `payload` as a step file of `kind` (atomically: a temporary file renamed into place).
    static func write(_ payload: StepWriter, kind: String, plan: UInt64, to path: String) throws {
        let sum = payload.bytes.withUnsafeBytes { checksum($0) }
        let file = AtomicStepFile(path: path)
        try file.open()
        try file.append(header(kind: kind, plan: plan, length: payload.bytes.count, checksum: sum))
        try file.append(payload.bytes)
        try file.commit()
    }

    /// Reads the step file at `path`, checks its header (see the type) and returns its payload.
    static func read(_ path: String, kind: String, plan: UInt64) throws -> StepReader {
        let bytes: [UInt8]
        do { bytes = try ReadableFile.readAll(path) } catch {
            throw NFMError(.dataset, "missing or unreadable step file (run the step that writes it)", at: .init(file: path))
        }
        guard bytes.count >= headerBytes, Array(bytes[0..<8]) == magic else {
            throw NFMError(.dataset, "not a step file of this build (bad magic or truncated)", at: .init(file: path))
        }
        var head = StepReader(bytes, path: path, range: 8..<headerBytes)
        let fileVersion = try head.u32()
        let fileKind = String(decoding: bytes[12..<16], as: UTF8.self)
        head.skip(4)
        let filePlan = try head.u64()
        let length = try head.u64()
        let sum = try head.u64()
        guard fileVersion == version, fileKind == kind else {
            throw NFMError(.dataset, "step file of kind \(fileKind) v\(fileVersion), expected \(kind) v\(version)", at: .init(file: path))
        }
        guard filePlan == plan else {
            throw NFMError(.dataset, "stale step file: written for another plan (rerun its step)", at: .init(file: path))
        }
        guard length == UInt64(bytes.count - headerBytes) else {
            throw NFMError(.dataset, "truncated step file: \(bytes.count - headerBytes) payload bytes, header says \(length)", at: .init(file: path))
        }
        guard bytes.withUnsafeBytes({ checksum(UnsafeRawBufferPointer(rebasing: $0[headerBytes...])) }) == sum else {
            throw NFMError(.dataset, "corrupted step file (checksum mismatch)", at: .init(file: path))
        }
        return StepReader(bytes, path: path, range: headerBytes..<bytes.count)
    }
}

/// A file written to `PATH.tmp` and renamed to `PATH` on commit, so a rerun step replaces it whole.
final class AtomicStepFile {
    let path: String
    private var file: WritableFile?

    init(path: String) { self.path = path }

    func open() throws {
        try FileSystem.createDirectory((path as NSString).deletingLastPathComponent)
        file = try WritableFile(path: path + ".tmp")
    }

    func append(_ bytes: [UInt8]) throws { try file?.write(bytes) }
    func append(_ bytes: UnsafeRawBufferPointer) throws { try file?.write(bytes) }

    func commit() throws {
        try file?.close()
        file = nil
        try FileSystem.rename(path + ".tmp", to: path)
    }
}

/// Appends little-endian values to a step file's payload.
struct StepWriter {
    private(set) var bytes: [UInt8] = []

    mutating func u64(_ value: Int) { u64(UInt64(bitPattern: Int64(value))) }
    mutating func u64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func bool(_ value: Bool) { bytes.append(value ? 1 : 0) }
    mutating func string(_ value: String) { self.bytes(Array(value.utf8)) }
    mutating func bytes(_ value: [UInt8]) {
        u64(value.count)
        bytes += value
    }
    mutating func words(_ value: [UInt32]) {
        u64(value.count)
        value.withUnsafeBytes { bytes += $0 }
    }
    mutating func ints(_ value: [Int]) {
        u64(value.count)
        for v in value { u64(v) }
    }
    mutating func longs(_ value: [UInt64]) {
        u64(value.count)
        value.withUnsafeBytes { bytes += $0 }
    }
    mutating func vocabulary(_ value: Vocabulary) { values(ValueList(value)) }
    mutating func values(_ value: ValueList) {
        bytes(value.arena)
        ints(value.ends)
        ints(value.counts)
    }
}

/// Reads a step file's payload; every size is checked against the bytes left (`.dataset` naming the file).
struct StepReader {
    private let data: [UInt8]
    let path: String
    private var offset: Int
    private let end: Int

    init(_ data: [UInt8], path: String, range: Range<Int>) {
        self.data = data
        self.path = path
        offset = range.lowerBound
        end = range.upperBound
    }

    var isAtEnd: Bool { offset == end }

    private func damaged(_ what: String) -> NFMError {
        NFMError(.dataset, "damaged step file: \(what)", at: .init(file: path))
    }

    mutating func skip(_ n: Int) { offset += n }

    private mutating func take(_ n: Int) throws -> Range<Int> {
        guard n >= 0, n <= end - offset else { throw damaged("\(n) bytes wanted, \(end - offset) left") }
        defer { offset += n }
        return offset..<offset + n
    }

    mutating func u32() throws -> UInt32 {
        let r = try take(4)
        return data.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: r.lowerBound, as: UInt32.self)) }
    }

    mutating func u64() throws -> UInt64 {
        let r = try take(8)
        return data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: r.lowerBound, as: UInt64.self)) }
    }

    /// A non-negative count or size, at most `limit`.
    mutating func int(limit: Int = Int.max) throws -> Int {
        let value = try u64()
        guard value <= UInt64(limit) else { throw damaged("value \(value) out of range") }
        return Int(value)
    }

    mutating func bool() throws -> Bool { data[try take(1).lowerBound] != 0 }

    /// A count of items of `size` bytes each, checked against the bytes left.
    private mutating func count(of size: Int) throws -> Int { try int(limit: (end - offset - 8) / size) }

    mutating func bytes() throws -> [UInt8] { Array(data[try take(try count(of: 1))]) }
    mutating func string() throws -> String { String(decoding: try bytes(), as: UTF8.self) }
    mutating func words() throws -> [UInt32] {
        let r = try take(4 * (try count(of: 4)))
        return copy(r, as: UInt32.self)
    }
    mutating func longs() throws -> [UInt64] {
        let r = try take(8 * (try count(of: 8)))
        return copy(r, as: UInt64.self)
    }
    private func copy<T: FixedWidthInteger>(_ r: Range<Int>, as: T.Type) -> [T] {
        var out = [T](repeating: 0, count: r.count / MemoryLayout<T>.size)
        out.withUnsafeMutableBytes { target in
            data.withUnsafeBytes { target.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[r])) }
        }
        return out
    }

    mutating func ints() throws -> [Int] {
        let n = try count(of: 8)
        return try (0..<n).map { _ in try int() }
    }

    /// A value list written by `StepWriter.values` (checked by `ValueList.init?`).
    mutating func values() throws -> ValueList {
        guard let list = ValueList(arena: try bytes(), ends: try ints(), counts: try ints()) else {
            throw damaged("value list")
        }
        return list
    }

    /// A vocabulary written by `StepWriter.vocabulary`: ends ascending within the arena, one count per value,
    /// values distinct.
    mutating func vocabulary() throws -> Vocabulary {
        let arena = try bytes()
        let ends = try ints()
        let counts = try ints()
        guard counts.count == ends.count else { throw damaged("vocabulary of \(ends.count) values, \(counts.count) counts") }
        var vocabulary = Vocabulary(capacity: ends.count)
        var start = 0
        try arena.withUnsafeBufferPointer { a in
            for (i, stop) in ends.enumerated() {
                guard stop >= start, stop <= arena.count, counts[i] >= 1 else { throw damaged("vocabulary value \(i)") }
                let index = vocabulary.encode(UnsafeBufferPointer(rebasing: a[start..<stop]), count: counts[i])
                guard index == i else { throw damaged("duplicate vocabulary value \(i)") }
                start = stop
            }
        }
        return vocabulary
    }
}
