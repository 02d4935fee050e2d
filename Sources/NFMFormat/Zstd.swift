import CZstd
import Foundation

/// Typed wrapper over libzstd's one-shot API.
///
/// Frames are written with the content size and a content checksum (XXH64, `ZSTD_c_checksumFlag`), so a
/// flipped byte inside a frame is detected on decompression.
public enum Zstd {
    /// Compresses `source` into one zstd frame at `level` (1…19) with the frame checksum on.
    /// Contexts are reused (`CompressionContexts`): a fresh one would allocate and clear its tables
    /// for every frame; the frame's bytes do not depend on it.
    public static func compress(_ source: UnsafeRawBufferPointer, level: Int) throws -> [UInt8] {
        let bound = compressBound(source.count)
        var failure: (any Error)?
        let output = [UInt8](unsafeUninitializedCapacity: bound) { out, written in
            do {
                written = try compress(source, level: level, into: UnsafeMutableRawBufferPointer(out))
            } catch {
                failure = error
                written = 0
            }
        }
        if let failure { throw failure }
        return output
    }

    /// The most bytes a frame of `count` source bytes takes (`ZSTD_compressBound`).
    public static func compressBound(_ count: Int) -> Int { ZSTD_compressBound(count) }

    /// Compresses `source` into one frame in `destination` (at least `compressBound(source.count)`
    /// bytes): the same frame as `compress(_:level:)`; returns its size.
    public static func compress(
        _ source: UnsafeRawBufferPointer, level: Int, into destination: UnsafeMutableRawBufferPointer
    ) throws -> Int {
        precondition(destination.count >= compressBound(source.count))
        // Exactly the bound, as `compress(_:level:)` passes: the frame never depends on spare room.
        let context = try CompressionContexts.shared.take()
        defer { CompressionContexts.shared.give(context) }
        try check(ZSTD_CCtx_reset(context, ZSTD_reset_session_and_parameters))
        try check(ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, Int32(level)))
        try check(ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1))
        try check(ZSTD_CCtx_setParameter(context, ZSTD_c_contentSizeFlag, 1))
        return try check(
            ZSTD_compress2(context, destination.baseAddress, compressBound(source.count), source.baseAddress, source.count))
    }

    /// What a frame header announces, read without decompressing anything.
    public struct FrameInfo: Sendable, Equatable {
        /// The declared decompressed size.
        public var contentSize: UInt64
        /// Whether the frame ends with an XXH64 checksum of its content.
        public var hasChecksum: Bool
    }

    /// Reads the header of the single zstd frame that must fill `frame` exactly (no trailing bytes or
    /// second frame) and declares its content size. Throws `.compression`. O(number of blocks).
    public static func frameInfo(_ frame: UnsafeRawBufferPointer) throws -> FrameInfo {
        guard frame.count >= 5, frame.littleEndian(UInt32.self, at: 0) == 0xFD2F_B528 else {
            throw NFMError(.compression, "not a zstd frame (bad magic number)")
        }
        let contentSize = ZSTD_getFrameContentSize(frame.baseAddress, frame.count)
        guard contentSize != ZSTD_CONTENTSIZE_ERROR, contentSize != ZSTD_CONTENTSIZE_UNKNOWN else {
            throw NFMError(.compression, "the zstd frame header does not declare its content size")
        }
        let frameSize = ZSTD_findFrameCompressedSize(frame.baseAddress, frame.count)
        guard ZSTD_isError(frameSize) == 0, frameSize == frame.count else {
            throw NFMError(.compression, "the zstd frame does not end where the file does (truncated, padded or damaged)")
        }
        // Frame_Header_Descriptor bit 2: Content_Checksum_flag (RFC 8878 §3.1.1.1.1).
        return FrameInfo(contentSize: UInt64(contentSize), hasChecksum: frame[4] & 0x04 != 0)
    }

    /// Decompresses one frame that must hold exactly `expectedSize` bytes into `destination` (at least that
    /// large); verifies the frame checksum when the frame has one.
    public static func decompress(
        _ frame: UnsafeRawBufferPointer, expectedSize: Int, into destination: UnsafeMutableRawBufferPointer
    ) throws {
        let info = try frameInfo(frame)
        guard info.contentSize == UInt64(expectedSize), destination.count >= expectedSize else {
            throw NFMError(.compression, "the zstd frame header announces \(info.contentSize) bytes, expected \(expectedSize)")
        }
        let produced = try check(
            ZSTD_decompress(destination.baseAddress, expectedSize, frame.baseAddress, frame.count))
        guard produced == expectedSize else {
            throw NFMError(.compression, "the zstd frame holds \(produced) bytes, expected \(expectedSize)")
        }
    }

    @discardableResult
    private static func check(_ result: Int) throws -> Int {
        if ZSTD_isError(result) != 0 {
            throw NFMError(.compression, "zstd: " + String(cString: ZSTD_getErrorName(result)))
        }
        return result
    }
}

/// Idle zstd compression contexts, shared by the threads that compress: `take` one (a new one when none
/// is idle), `give` it back. Holds at most as many contexts as threads ever compressed at once.
final class CompressionContexts: @unchecked Sendable {
    static let shared = CompressionContexts()
    private let lock = NSLock()
    private var idle: [OpaquePointer] = []

    /// An idle context, or a new one; `.compression` when zstd cannot allocate one.
    func take() throws -> OpaquePointer {
        if let context = lock.withLock({ idle.popLast() }) { return context }
        guard let context = ZSTD_createCCtx() else { throw FormatError(.compression, "zstd: out of memory") }
        return context
    }

    /// Returns `context` to the idle ones.
    func give(_ context: OpaquePointer) { lock.withLock { idle.append(context) } }
}
