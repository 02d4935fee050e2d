import NFMFormat
import Testing

/// `SHA256` (libcrypto's direct SHA-256 functions): FIPS 180-4's example vectors, and digests that do not
/// depend on how the bytes are cut into `update` calls (cuts at every offset around the 64-byte blocks).
@Suite struct SHA256VectorTests {
    @Test func knownVectors() {
        let vectors: [(String, String)] = [
            ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            (
                "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
            ),
        ]
        for (text, digest) in vectors { #expect(SHA256.hexDigest(of: Array(text.utf8)) == digest, "\(text)") }
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        #expect(SHA256.hexDigest(of: million) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Two and three pieces, every first cut in 0…200 and second cuts across the next block boundary.
    @Test func digestIgnoresUpdateBoundaries() {
        let bytes = (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        let whole = SHA256.hexDigest(of: bytes)
        for cut in 0...bytes.count {
            let hasher = SHA256()
            hasher.update(Array(bytes[..<cut]))
            hasher.update(Array(bytes[cut...]))
            #expect(hasher.hexDigest() == whole, "cut \(cut)")
            for second in stride(from: cut, through: min(bytes.count, cut + 70), by: 7) {
                let three = SHA256()
                three.update(Array(bytes[..<cut]))
                three.update(Array(bytes[cut..<second]))
                three.update(Array(bytes[second...]))
                #expect(three.hexDigest() == whole, "cuts \(cut), \(second)")
            }
        }
        #expect(whole != SHA256.hexDigest(of: Array(bytes.dropLast())))
    }

    /// Hashers are independent: interleaved updates of two give each its own digest.
    @Test func interleavedHashersStayApart() {
        let (a, b) = (SHA256(), SHA256())
        for _ in 0..<100 {
            a.update(Array("a".utf8))
            b.update(Array("bb".utf8))
        }
        #expect(a.hexDigest() == SHA256.hexDigest(of: [UInt8](repeating: 97, count: 100)))
        #expect(b.hexDigest() == SHA256.hexDigest(of: [UInt8](repeating: 98, count: 200)))
    }
}
