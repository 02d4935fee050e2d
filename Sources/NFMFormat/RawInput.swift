/// A sequential source of bytes: a file, a pipe, or a decompressor over one of them.
public protocol ByteSource: AnyObject {
    /// Reads up to `buffer.count` bytes; returns 0 at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

extension ReadableFile: ByteSource {}

/// One raw input log, opened for streaming: a path or `-` (standard input), decompressed on the fly when it
/// starts with the gzip (`1f 8b`) or zstd (`28 b5 2f fd`) magic bytes.
///
/// ``read(into:)`` yields the decompressed bytes; ``sha256()`` and ``storedBytes`` describe the bytes as stored
/// (compressed), which is what a manifest records. Gzip input may hold several members and zstd input several
/// frames (as `cat a.gz b.gz` gives); a truncated or corrupted stream is an error naming the input, never a
/// silently shorter log.
public final class RawInput: ByteSource {
    /// How the stored bytes are encoded.
    public enum Compression: String, Sendable {
        /// `none` plain bytes, `gzip` (magic `1f 8b`), `zstd` (magic `28 b5 2f fd`).
        case none, gzip, zstd
    }

    /// The path as given (`-` for standard input).
    public let path: String
    /// The name used in positions and manifests: the path, or `<stdin>`.
    public let displayName: String
    /// The detected encoding.
    public let compression: Compression
    private let stored: StoredBytes
    private let decoder: StreamDecoder?

    /// Opens `path` (`-` is standard input) and detects its compression from its first bytes; `hashing`
    /// false skips the SHA-256 of the stored bytes (a reader that records no manifest, e.g. prediction).
    public init(path: String, hashing: Bool = true) throws {
        self.path = path
        displayName = path == "-" ? "<stdin>" : path
        stored = StoredBytes(
            try ReadableFile(path: path == "-" ? "/dev/stdin" : path, allowStream: true), name: displayName,
            hashing: hashing)
        let magic = try stored.peek(4)
        if magic.starts(with: [0x1F, 0x8B]) {
            compression = .gzip
            decoder = try GzipStreamDecoder(name: displayName)
        } else if magic.starts(with: [0x28, 0xB5, 0x2F, 0xFD]) {
            compression = .zstd
            decoder = try ZstdStreamDecoder(name: displayName)
        } else {
            compression = .none
            decoder = nil
        }
    }

    /// Bytes read from the stored input so far (all of them once ``read(into:)`` returned 0).
    public var storedBytes: Int { stored.consumed }

    private var digest: String?

    /// SHA-256 (hex) of the stored bytes; call once the input is read to its end (it finishes the hash),
    /// and only on an input opened with `hashing` (a programming error otherwise).
    public func sha256() -> String {
        if let digest { return digest }
        guard let hasher = stored.hasher else { preconditionFailure("sha256() of a RawInput opened without hashing") }
        digest = hasher.hexDigest()
        return digest!
    }

    /// Reads up to `buffer.count` decompressed bytes; returns 0 at the end. A truncated or corrupted stream
    /// throws, naming the input.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let decoder else { return try stored.read(into: buffer) }
        return try decoder.decode(from: stored, into: buffer)
    }
}

/// The stored bytes of an input, hashed as they are consumed, with a look-ahead window for decoders.
final class StoredBytes {
    let name: String
    /// Hashes the consumed bytes; nil when the reader needs no digest.
    let hasher: SHA256?
    private let file: ReadableFile
    private var window = [UInt8](repeating: 0, count: 1 << 18)
    private var start = 0
    private var end = 0
    private(set) var consumed = 0
    private(set) var atEnd = false

    init(_ file: ReadableFile, name: String, hashing: Bool) {
        self.file = file
        self.name = name
        hasher = hashing ? SHA256() : nil
    }

    /// The first `count` unconsumed bytes, or fewer at the end of the input.
    func peek(_ count: Int) throws -> ArraySlice<UInt8> {
        while end - start < count, try fill() {}
        return window[start..<min(end, start + count)]
    }

    /// Refills the window when it is empty; returns false at the end of the input.
    @discardableResult
    func fill() throws -> Bool {
        if start == end {
            start = 0
            end = 0
        }
        guard !atEnd, end < window.count else { return end > start }
        let n = try window.withUnsafeMutableBytes { try file.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[end...])) }
        if n == 0 { atEnd = true }
        end += n
        return n > 0
    }

    /// Calls `body` with the unconsumed bytes; `body` returns how many it consumed.
    func consume(_ body: (UnsafeRawBufferPointer) throws -> Int) rethrows {
        let used = try window.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[start..<end])) }
        if let hasher { window.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[start..<start + used])) } }
        start += used
        consumed += used
    }

    /// Undecoded pass-through reading: once the look-ahead window is drained, straight from the file
    /// into `buffer` (no copy, and reads as large as the caller asks for).
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if start == end, !atEnd, buffer.count >= 4096 {
            let n = try file.read(into: buffer)
            if n == 0 { atEnd = true }
            hasher?.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            consumed += n
            return n
        }
        if start == end { try fill() }
        var copied = 0
        consume { available in
            copied = min(available.count, buffer.count)
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: available[0..<copied]))
            return copied
        }
        return copied
    }

    var isEmpty: Bool { start == end }
}

/// A streaming decompressor over ``StoredBytes``.
protocol StreamDecoder: AnyObject {
    /// Decodes into `buffer`; returns 0 only at the end of the last member or frame.
    func decode(from input: StoredBytes, into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}
