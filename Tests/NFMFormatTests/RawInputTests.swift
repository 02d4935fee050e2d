import CZlib
import Foundation
import NFMFormat
import NFMTestSupport
import Testing

@Suite("Raw inputs: plain, gzip and zstd streams, hashed as stored")
struct RawInputTests {
    /// A gzip member of `bytes` made with zlib's deflate (level 6).
    private func gzip(_ bytes: [UInt8]) -> [UInt8] {
        var stream = z_stream()
        #expect(deflateInit2_(&stream, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK)
        var output = [UInt8](repeating: 0, count: bytes.count + 1024)
        var input = bytes
        let written = input.withUnsafeMutableBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                stream.next_in = source.baseAddress
                stream.avail_in = UInt32(source.count)
                stream.next_out = target.baseAddress
                stream.avail_out = UInt32(target.count)
                _ = deflate(&stream, Z_FINISH)
                return target.count - Int(stream.avail_out)
            }
        }
        deflateEnd(&stream)
        return Array(output[0..<written])
    }

    private func zstd(_ bytes: [UInt8]) throws -> [UInt8] {
        try bytes.withUnsafeBytes { try Zstd.compress($0, level: 3) }
    }

    /// A log of `rows` lines, varied enough not to compress to nothing.
    private func log(rows: Int) -> [UInt8] {
        var text = "user\titem\n"
        for row in 0..<rows { text += "u\(row % 97)\ti\(row * 7919 % 1013)\n" }
        return Array(text.utf8)
    }

    /// Everything `input` yields, read through a buffer of `chunk` bytes.
    private func drain(_ input: RawInput, chunk: Int) throws -> [UInt8] {
        var all: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: chunk)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try input.read(into: $0) }
            if n == 0 { return all }
            all += buffer[0..<n]
        }
    }

    private func file(_ bytes: [UInt8], _ name: String) -> String {
        TestSupport.writeBytes(bytes, named: name, in: TestSupport.temporaryDirectory())
    }

    @Test(arguments: [1, 7, 4096, 1 << 20])
    func everyEncodingYieldsTheSameBytesAndHashesWhatIsStored(chunk: Int) throws {
        let plain = log(rows: 5000)
        let encodings: [(RawInput.Compression, [UInt8])] = [
            (.none, plain), (.gzip, gzip(plain)), (.zstd, try zstd(plain)),
        ]
        for (compression, stored) in encodings {
            let input = try RawInput(path: file(stored, "log"))
            #expect(input.compression == compression)
            #expect(try drain(input, chunk: chunk) == plain)
            #expect(input.storedBytes == stored.count)
            #expect(input.sha256() == SHA256.hexDigest(of: stored))
        }
    }

    @Test func concatenatedMembersAndFramesAreOneStream() throws {
        let first = log(rows: 300)
        let second = Array("u1\ti2\n".utf8)
        let gz = try RawInput(path: file(gzip(first) + gzip(second), "two.gz"))
        #expect(try drain(gz, chunk: 100) == first + second)
        let zst = try RawInput(path: file(try zstd(first) + zstd(second), "two.zst"))
        #expect(try drain(zst, chunk: 100) == first + second)
    }

    @Test func truncatedOrCorruptedStreamsAreErrorsNamingTheInput() throws {
        let plain = log(rows: 2000)
        for stored in [gzip(plain), try zstd(plain)] {
            let truncatedPath = file(Array(stored.dropLast(9)), "cut")
            let truncated = #expect(throws: NFMError.self) { try drain(RawInput(path: truncatedPath), chunk: 4096) }
            #expect(truncated?.code == .compression)
            #expect(truncated?.position?.file == truncatedPath)
            #expect(truncated?.message.contains("truncated") == true || truncated?.message.contains("corrupt") == true)
            var flipped = stored
            flipped[stored.count / 2] ^= 0x5A
            let flippedPath = file(flipped, "flipped")
            let corrupt = #expect(throws: NFMError.self) { try drain(RawInput(path: flippedPath), chunk: 4096) }
            #expect(corrupt?.code == .compression)
        }
    }

    @Test func anEmptyOrTinyInputIsPlain() throws {
        for bytes: [UInt8] in [[], [0x1F], [0x28, 0xB5]] {
            let input = try RawInput(path: file(bytes, "tiny"))
            #expect(input.compression == .none)
            #expect(try drain(input, chunk: 16) == bytes)
        }
    }
}
