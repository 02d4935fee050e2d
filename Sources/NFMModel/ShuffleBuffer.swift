import NFMKernels

/// A fixed-capacity shuffle buffer for streamed training (as `tf.data`'s `shuffle`): the first `rows`
/// rows fill it; each later row takes the place of a uniformly chosen buffered row, which is emitted;
/// at the end of the epoch the remaining rows are emitted in a seeded random order. Every row is emitted
/// exactly once per epoch, and the order depends only on the seed and the shard order.
final class ShuffleBuffer {
    let capacity: Int
    let fieldCount: Int
    private var indices: [UInt32]
    private var labels: [Float]
    private var count = 0

    init(rows: Int, fieldCount: Int) {
        capacity = max(rows, 1)
        self.fieldCount = fieldCount
        indices = [UInt32](repeating: 0, count: capacity * fieldCount)
        labels = [Float](repeating: 0, count: capacity)
    }

    /// Adds one row (`fieldCount` feature indices and its label), emitting a buffered row once full.
    @inline(__always)
    func push(
        _ features: UnsafePointer<UInt32>, _ label: Float, random: inout Xoshiro256,
        emit: (UnsafePointer<UInt32>, Float) -> Void
    ) {
        let f = fieldCount
        indices.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            if count < capacity {
                (base + count * f).update(from: features, count: f)
                labels[count] = label
                count += 1
                return
            }
            let slot = random.next(below: capacity)
            emit(base + slot * f, labels[slot])
            (base + slot * f).update(from: features, count: f)
            labels[slot] = label
        }
    }

    /// Emits every buffered row in a random order and empties the buffer.
    func drain(random: inout Xoshiro256, emit: (UnsafePointer<UInt32>, Float) -> Void) {
        let f = fieldCount
        indices.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            while count > 0 {
                let slot = random.next(below: count)
                emit(base + slot * f, labels[slot])
                count -= 1
                if slot != count {
                    (base + slot * f).update(from: base + count * f, count: f)
                    labels[slot] = labels[count]
                }
            }
        }
    }
}
