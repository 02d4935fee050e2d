/// A fixed-size, 64-byte aligned buffer of `Float`s: parameters, optimiser state, activations.
///
/// At least 16 floats are allocated (and zeroed), so that SIMD loads past a short buffer stay inside it.
public final class FloatBuffer: @unchecked Sendable {
    /// Number of values.
    public let count: Int
    /// The first value; valid for `max(count, 16)` floats until the buffer is released.
    public let pointer: UnsafeMutablePointer<Float>

    /// `count` copies of `value`. O(count).
    public init(count: Int, repeating value: Float = 0) {
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 16) * 4, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 16))
        pointer.initialize(repeating: value, count: max(count, 16))
    }

    /// A copy of `values`. O(count).
    public convenience init(_ values: [Float]) {
        self.init(count: values.count)
        for (i, v) in values.enumerated() { pointer[i] = v }
    }

    deinit { pointer.deallocate() }

    /// Value `i` (unchecked: `0 ≤ i < count`).
    public subscript(i: Int) -> Float {
        get { pointer[i] }
        set { pointer[i] = newValue }
    }

    /// The values as an array. O(count).
    public var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    /// Overwrites the values with `other`'s (same count). O(count).
    public func copy(from other: FloatBuffer) {
        precondition(other.count == count)
        pointer.update(from: other.pointer, count: count)
    }

    /// Sets every value to `value`. O(count).
    public func fill(_ value: Float) { pointer.update(repeating: value, count: count) }

    /// A new buffer with the same values. O(count).
    public func clone() -> FloatBuffer {
        let copy = FloatBuffer(count: count)
        copy.copy(from: self)
        return copy
    }
}
