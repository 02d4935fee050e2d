import Foundation
import NFMFormat

#if canImport(Glibc)
    import Glibc
#endif

/// Parsed libFM rows kept on disk between reading the inputs (once) and writing the shards, so a pipe can
/// be imported and a file changing under the import cannot give an inconsistent dataset.
///
/// The file is created with `mkstemp` in `directory` and unlinked at once: it has no name, so nothing is
/// left behind however the process ends. Row format (native byte order, written and read by this process
/// only): label (f32), entry count (u32), indices (u32 × count), values (f32 × count).
final class LibFMSpool {
    private let descriptor: Int32
    private var buffer: [UInt8] = []
    private var readOffset = 0
    private var readEnd = 0
    private static let chunk = 1 << 20

    /// Creates the spool in `directory`, or in the system's temporary directory when that fails.
    init(near directory: String) throws {
        var fd: Int32 = -1
        for candidate in [directory, NSTemporaryDirectory()] where !candidate.isEmpty {
            var template = Array((candidate.hasSuffix("/") ? candidate : candidate + "/").utf8CString.dropLast())
            template += Array(".nfm-libfm-spool-XXXXXX".utf8CString)
            fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            if fd >= 0 {
                unlink(template)
                break
            }
        }
        guard fd >= 0 else {
            throw NFMError(.io, "cannot create a temporary spool file (\(String(cString: strerror(errno))))", at: .init(file: directory))
        }
        descriptor = fd
        buffer.reserveCapacity(Self.chunk + 64)
    }

    deinit { close(descriptor) }

    /// Appends one row.
    func append(_ row: LibFMRow) throws {
        appendWord(row.label.bitPattern)
        appendWord(UInt32(row.indices.count))
        for index in row.indices { appendWord(index) }
        for value in row.values { appendWord(value.bitPattern) }
        if buffer.count >= Self.chunk { try flush() }
    }

    @inline(__always) private func appendWord(_ word: UInt32) {
        withUnsafeBytes(of: word) { buffer.append(contentsOf: $0) }
    }

    private func flush() throws {
        try buffer.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw NFMError(.io, "cannot write the temporary spool file (\(String(cString: strerror(errno))))")
                }
                offset += n
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Ends writing and rewinds: rows come back in the order they were appended.
    func rewind() throws {
        try flush()
        guard lseek(descriptor, 0, SEEK_SET) == 0 else {
            throw NFMError(.io, "cannot rewind the temporary spool file (\(String(cString: strerror(errno))))")
        }
        readOffset = 0
        readEnd = 0
    }

    /// Reads the next row into `row`.
    func next(into row: inout LibFMRow) throws {
        row.label = Float(bitPattern: try word())
        let count = Int(try word())
        guard count <= LibFMLine.maximumEntries else {
            throw NFMError(.io, "the temporary spool file is damaged (a row of \(count) entries)")
        }
        row.indices.removeAll(keepingCapacity: true)
        row.values.removeAll(keepingCapacity: true)
        for _ in 0..<count { row.indices.append(try word()) }
        for _ in 0..<count { row.values.append(Float(bitPattern: try word())) }
    }

    private func word() throws -> UInt32 {
        if readEnd - readOffset < 4 { try refill() }
        var value: UInt32 = 0
        withUnsafeMutableBytes(of: &value) { target in
            buffer.withUnsafeBytes { source in
                target.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[readOffset..<readOffset + 4]))
            }
        }
        readOffset += 4
        return value
    }

    private func refill() throws {
        let kept = Array(buffer[readOffset..<readEnd])
        buffer = kept + [UInt8](repeating: 0, count: Self.chunk)
        let n = buffer.withUnsafeMutableBytes { raw in
            read(descriptor, raw.baseAddress! + kept.count, Self.chunk)
        }
        guard n >= 0 else {
            throw NFMError(.io, "cannot read the temporary spool file (\(String(cString: strerror(errno))))")
        }
        readOffset = 0
        readEnd = kept.count + n
        guard readEnd >= 4 else { throw NFMError(.io, "the temporary spool file ended early") }
    }
}
