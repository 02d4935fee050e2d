import CZstd

/// Typed wrapper over libzstd's one-shot API.
///
/// Frames are written with the content size and a content checksum (XXH64, `ZSTD_c_checksumFlag`), so a
/// flipped byte inside a frame is detected on decompression.
public enum Zstd {
    /// Compresses `source` into one zstd frame at `level` (1…19) with the frame checksum on.
    public static func compress(_ source: UnsafeRawBufferPointer, level: Int) throws -> [UInt8] {
        guard let context = ZSTD_createCCtx() else { throw FormatError(.compression, "zstd: out of memory") }
        defer { ZSTD_freeCCtx(context) }
        try check(ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, Int32(level)))
        try check(ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1))
        try check(ZSTD_CCtx_setParameter(context, ZSTD_c_contentSizeFlag, 1))
        let bound = ZSTD_compressBound(source.count)
        var output = [UInt8](repeating: 0, count: bound)
        let written = try output.withUnsafeMutableBytes { out in
            try check(ZSTD_compress2(context, out.baseAddress, bound, source.baseAddress, source.count))
        }
        output.removeSubrange(written...)
        return output
    }

    /// Decompresses one frame that must hold exactly `expectedSize` bytes; verifies the frame checksum.
    public static func decompress(
        _ frame: UnsafeRawBufferPointer, expectedSize: Int, into destination: UnsafeMutableRawBufferPointer
    ) throws {
        let contentSize = ZSTD_getFrameContentSize(frame.baseAddress, frame.count)
        guard contentSize != ZSTD_CONTENTSIZE_ERROR, contentSize != ZSTD_CONTENTSIZE_UNKNOWN,
            contentSize == UInt64(expectedSize), destination.count >= expectedSize
        else {
            throw FormatError(.compression, "zstd frame header does not announce \(expectedSize) bytes")
        }
        let produced = try check(
            ZSTD_decompress(destination.baseAddress, expectedSize, frame.baseAddress, frame.count))
        guard produced == expectedSize else {
            throw FormatError(.compression, "zstd frame holds \(produced) bytes, expected \(expectedSize)")
        }
    }

    @discardableResult
    private static func check(_ result: Int) throws -> Int {
        if ZSTD_isError(result) != 0 {
            throw FormatError(.compression, "zstd: " + String(cString: ZSTD_getErrorName(result)))
        }
        return result
    }
}
