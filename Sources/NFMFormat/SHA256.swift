import CCrypto

/// Incremental SHA-256 (FIPS 180-4) through libcrypto's EVP interface, which uses the CPU's SHA
/// extensions where present. Digests are reported as lowercase hexadecimal.
public final class SHA256 {
    private let context: OpaquePointer

    /// A fresh hasher. Traps only if libcrypto cannot set up SHA-256 (a broken installation, not bad input).
    public init() {
        guard let context = EVP_MD_CTX_new(), EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1 else {
            fatalError("libcrypto: cannot initialise SHA-256")
        }
        self.context = context
    }

    deinit { EVP_MD_CTX_free(context) }

    /// Feeds `bytes` to the digest.
    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        EVP_DigestUpdate(context, bytes.baseAddress, bytes.count)
    }

    /// Feeds `bytes` to the digest.
    public func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Finishes the digest; the hasher must not be updated afterwards.
    public func hexDigest() -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        digest.withUnsafeMutableBufferPointer { _ = EVP_DigestFinal_ex(context, $0.baseAddress, &length) }
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
