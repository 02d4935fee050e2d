import NFMKernels

/// Inverted dropout of a `rows × width` activation (Srivastava et al. 2014): in training, each value is
/// kept with probability `1 − ratio` and scaled by `1/(1 − ratio)` (`dropoutMask`); the mask and the
/// dropped copy live here, so the activation itself stays available to the backward pass.
final class DropoutScratch {
    let ratio: Float
    let mask: FloatBuffer
    let dropped: FloatBuffer
    /// Whether `mask` already holds the next forward pass's mask (`request(count:)`).
    private var predrawn = false

    init(ratio: Float, count: Int) {
        self.ratio = ratio
        mask = FloatBuffer(count: ratio > 0 ? count : 0)
        dropped = FloatBuffer(count: ratio > 0 ? count : 0)
    }

    /// `x ⊙ mask` (a fresh mask from `random`) when training with a positive ratio, else `x` itself. The
    /// mask is drawn on the calling thread (one stream, in order), the product in blocks on `pool`.
    func forward(
        count: Int, _ x: UnsafeMutablePointer<Float>, training: Bool, random: inout Xoshiro256, pool: WorkerPool
    ) -> UnsafeMutablePointer<Float> {
        guard training && ratio > 0 else { return x }
        if predrawn {
            predrawn = false
        } else {
            dropoutMask(count: count, keep: 1 - ratio, into: mask.pointer, random: &random)
        }
        let (dropped, mask) = (dropped.pointer, mask.pointer)
        pool.forEachElementBlock(count) { block in
            let at = block.lowerBound
            multiply(count: block.count, x + at, by: mask + at, into: dropped + at)
        }
        return dropped
    }

    /// `∂L/∂x = ∂L/∂y ⊙ mask`, in place (after a training-mode forward), in blocks on `pool`.
    func backward(count: Int, _ gradient: UnsafeMutablePointer<Float>, pool: WorkerPool) {
        guard ratio > 0 else { return }
        let mask = mask.pointer
        pool.forEachElementBlock(count) { block in
            multiply(count: block.count, gradient + block.lowerBound, by: mask + block.lowerBound)
        }
    }

    /// The mask of the next training-mode forward pass over `count` values, to be drawn ahead by the
    /// caller (`MaskRequest.draw`, in the order the forward pass would draw it); nil without dropout.
    func request(count: Int) -> MaskRequest? {
        guard ratio > 0 else { return nil }
        predrawn = true
        return MaskRequest(mask: mask.pointer, count: count, keep: 1 - ratio)
    }
}

/// A dropout mask that a training step draws before its forward pass (with the slot assignment, in
/// parallel), in the forward pass's order, so that the masks are the same as when drawn in place.
struct MaskRequest {
    let mask: UnsafeMutablePointer<Float>
    let count: Int
    let keep: Float

    /// Draws the mask from `random` (`dropoutMask`).
    func draw(random: inout Xoshiro256) { dropoutMask(count: count, keep: keep, into: mask, random: &random) }
}
