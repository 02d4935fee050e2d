/// Recognises what a raw input starts with: a UTF-8 byte-order mark, or the magic number of a
/// compression format that the text readers do not decompress.
enum InputSignature {
    /// Bytes needed to recognise every signature below.
    static let longestMagic = 10

    /// Magic numbers: gzip (RFC 1952), zstd (RFC 8878), xz, zip, bzip2 (`BZh1`…`BZh9` then the block
    /// magic π = 31 41 59 26 53 59, so a text line starting "BZh" is not mistaken for it).
    private static let signatures: [(name: String, magic: [UInt8])] = [
        ("gzip", [0x1F, 0x8B]),
        ("zstd", [0x28, 0xB5, 0x2F, 0xFD]),
        ("xz", [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]),
        ("zip", [0x50, 0x4B, 0x03, 0x04]),
    ]

    /// The compression format whose magic number `head` starts with, if any.
    static func compression(of head: UnsafeRawBufferPointer) -> String? {
        for (name, magic) in signatures where head.starts(with: magic) { return name }
        let pi: [UInt8] = [0x31, 0x41, 0x59, 0x26, 0x53, 0x59]
        if head.count >= 10, head.starts(with: [0x42, 0x5A, 0x68]), (0x31...0x39).contains(head[3]),
            head[4..<10].elementsEqual(pi)
        {
            return "bzip2"
        }
        return nil
    }

    /// Whether `head` starts with the UTF-8 byte-order mark EF BB BF.
    static func hasByteOrderMark(_ head: UnsafeRawBufferPointer) -> Bool { head.starts(with: [0xEF, 0xBB, 0xBF]) }
}
