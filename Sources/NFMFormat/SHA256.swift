import CCrypto

/// Incremental SHA-256 (FIPS 180-4) through libcrypto's SHA-256 functions, which use the CPU's SHA
/// extensions where present. Digests are reported as lowercase hexadecimal.
///
/// The direct `SHA256_Init`/`SHA256_Update`/`SHA256_Final` functions run the same block function as
/// the EVP interface (which calls them) without its set-up: the first EVP digest of a process fetches
/// the algorithm from OpenSSL 3's providers (≈ 5 M instructions, more than hashing a small dataset's
/// vocabularies). They are deprecated in OpenSSL 3 in favour of EVP, not removed; the shim opts out of
/// the deprecation warnings.
public final class SHA256 {
    private var context = SHA256_CTX()

    /// A fresh hasher.
    public init() { SHA256_Init(&context) }

    /// Feeds `bytes` to the digest.
    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        SHA256_Update(&context, bytes.baseAddress, bytes.count)
    }

    /// Feeds `bytes` to the digest.
    public func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Finishes the digest; the hasher must not be updated afterwards.
    public func hexDigest() -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        digest.withUnsafeMutableBufferPointer { _ = SHA256_Final($0.baseAddress, &context) }
        return hex(digest)
    }

    /// The digest of `bytes`, as 64 lowercase hexadecimal digits.
    public static func hexDigest(of bytes: UnsafeRawBufferPointer) -> String {
        let hasher = SHA256()
        hasher.update(bytes)
        return hasher.hexDigest()
    }

    /// The digest of `bytes`, as 64 lowercase hexadecimal digits.
    public static func hexDigest(of bytes: [UInt8]) -> String {
        bytes.withUnsafeBytes { hexDigest(of: $0) }
    }

    /// Streams a file through the hasher in 1 MiB reads.
    public static func hexDigest(ofFile path: String) throws -> String {
        let file = try ReadableFile(path: path)
        let hasher = SHA256()
        try file.forEachChunk(size: 1 << 20) { hasher.update($0) }
        return hasher.hexDigest()
    }
}

@inline(__always) func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    out.reserveCapacity(bytes.count * 2)
    for byte in bytes {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 15)])
    }
    return String(decoding: out, as: UTF8.self)
}
