import CZlib
import CZstd

/// Gzip decompression through zlib's `inflate`, member after member.
final class GzipStreamDecoder: StreamDecoder {
    private let name: String
    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    private var memberOpen = false
    private var finished = false

    init(name: String) throws {
        self.name = name
        stream.initialize(to: z_stream())
        // 15 + 16: a gzip wrapper (not zlib or raw deflate), window of 32 KiB.
        guard inflateInit2_(stream, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw NFMError(.compression, "gzip: cannot initialise zlib", at: .init(file: name))
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    func decode(from input: StoredBytes, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while !finished {
            let hasInput = try !input.isEmpty || input.fill()
            if !hasInput && !memberOpen {
                finished = true
                break
            }
            if hasInput { memberOpen = true }
            var produced = 0
            var status: Int32 = Z_OK
            input.consume { available in
                stream.pointee.next_in = UnsafeMutablePointer(mutating: available.baseAddress?.assumingMemoryBound(to: UInt8.self))
                stream.pointee.avail_in = UInt32(min(available.count, Int(UInt32.max)))
                stream.pointee.next_out = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self)
                stream.pointee.avail_out = UInt32(min(buffer.count, Int(UInt32.max)))
                status = inflate(stream, Z_NO_FLUSH)
                produced = min(buffer.count, Int(UInt32.max)) - Int(stream.pointee.avail_out)
                return available.count - Int(stream.pointee.avail_in)
            }
            switch status {
            case Z_STREAM_END:
                memberOpen = false
                inflateReset(stream)
            case Z_OK, Z_BUF_ERROR:
                break
            default:
                let reason = stream.pointee.msg.map { String(cString: $0) } ?? "error \(status)"
                throw corrupt("gzip data is corrupt (\(reason))", at: input)
            }
            if produced > 0 { return produced }
            if !hasInput { throw corrupt("gzip stream is truncated", at: input) }
        }
        return 0
    }

    private func corrupt(_ what: String, at input: StoredBytes) -> NFMError {
        NFMError(.compression, what, at: .init(file: name, field: "compressed byte", value: "\(input.consumed)"))
    }
}

/// Zstandard decompression through `ZSTD_decompressStream`, frame after frame.
final class ZstdStreamDecoder: StreamDecoder {
    private let name: String
    private let context: OpaquePointer
    private var frameOpen = false
    private var finished = false

    init(name: String) throws {
        self.name = name
        guard let context = ZSTD_createDCtx() else {
            throw NFMError(.compression, "zstd: out of memory", at: .init(file: name))
        }
        self.context = context
    }

    deinit { ZSTD_freeDCtx(context) }

    func decode(from input: StoredBytes, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while !finished {
            let hasInput = try !input.isEmpty || input.fill()
            if !hasInput && !frameOpen {
                finished = true
                break
            }
            var produced = 0
            var result = 0
            input.consume { available in
                var source = ZSTD_inBuffer(src: available.baseAddress, size: available.count, pos: 0)
                var target = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
                result = ZSTD_decompressStream(context, &target, &source)
                produced = target.pos
                return source.pos
            }
            if ZSTD_isError(result) != 0 {
                throw corrupt("zstd data is corrupt (\(String(cString: ZSTD_getErrorName(result))))", at: input)
            }
            frameOpen = result != 0
            if produced > 0 { return produced }
            if !hasInput { throw corrupt("zstd stream is truncated", at: input) }
        }
        return 0
    }

    private func corrupt(_ what: String, at input: StoredBytes) -> NFMError {
        NFMError(.compression, what, at: .init(file: name, field: "compressed byte", value: "\(input.consumed)"))
    }
}
