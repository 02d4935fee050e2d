/// The output buffer of the synthetic log writers: rows are appended as bytes into a fixed 1 MiB block
/// (plus slack for one row) and handed to the sink whenever a finished row leaves the block full, so
/// memory stays at one block whatever the row count.
///
/// Appending is a store and an increment (no growth checks): a caller must call ``flushIfFull(_:)``
/// after each row and keep each row under ``rowLimit`` bytes.
final class SyntheticTextBuffer {
    /// Bytes after which ``flushIfFull(_:)`` hands the block to the sink: 1 MiB.
    static let blockSize = 1 << 20
    /// The most bytes one row may add between two ``flushIfFull(_:)`` calls.
    static let rowLimit = 1 << 16

    private let storage: UnsafeMutablePointer<UInt8>
    /// Bytes held.
    private(set) var count = 0

    init() {
        storage = .allocate(capacity: Self.blockSize + Self.rowLimit)
    }

    deinit { storage.deallocate() }

    /// Appends one byte.
    @inline(__always) func append(_ byte: UInt8) {
        storage[count] = byte
        count += 1
    }

    /// Appends bytes (a row's piece, at most ``rowLimit``).
    @inline(__always) func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { source in
            guard let base = source.baseAddress else { return }
            (storage + count).update(from: base, count: source.count)
        }
        count += bytes.count
    }

    /// Appends `value` in decimal, with a leading `-` when negative (at most 20 bytes; `Vocabulary.writeDecimal`).
    @inline(__always) func append(decimal value: Int) {
        count = Vocabulary.writeDecimal(value, at: storage + count) - storage
    }

    /// Appends `value` as 8 lowercase hexadecimal digits, most significant first (`05db9164`).
    @inline(__always) func append(hex value: UInt32) {
        for k in 0..<8 {
            let nibble = UInt8(truncatingIfNeeded: value >> UInt32(28 - 4 * k)) & 15
            storage[count + k] = nibble < 10 ? 48 &+ nibble : 87 &+ nibble
        }
        count += 8
    }

    /// Hands the held bytes to `sink` once they fill a block (or whenever any are held, with `force`).
    @inline(__always) func flushIfFull(_ sink: (UnsafeRawBufferPointer) throws -> Void, force: Bool = false) throws {
        guard count >= Self.blockSize || (force && count > 0) else { return }
        try sink(UnsafeRawBufferPointer(start: storage, count: count))
        count = 0
    }
}
