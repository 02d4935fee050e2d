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
        guard prepare(training: training, count: count, random: &random) else { return x }
        pool.forEachElementBlock(count) { block in apply(block, x) }
        return dropped.pointer
    }

    /// Readies the mask of a forward pass over `count` values and says whether dropout applies (training
    /// with a positive ratio): the mask is drawn from `random` unless `request(count:)` drew it ahead. The
    /// caller then writes `dropped` block by block with `apply` (for instance inside the row job that
    /// produced `x`) and hands on `output(x, active:)`.
    func prepare(training: Bool, count: Int, random: inout Xoshiro256) -> Bool {
        guard training && ratio > 0 else { return false }
        if predrawn {
            predrawn = false
        } else {
            dropoutMask(count: count, keep: 1 - ratio, into: mask.pointer, random: &random)
        }
        return true
    }

    /// Marks a mask drawn ahead (`request(count:)`) as used, by a pass that applied it without `prepare`.
    func cancelRequest() { predrawn = false }

    /// `dropped[i] = x[i]·mask[i]` for the values `range`.
    @inline(__always) func apply(_ range: Range<Int>, _ x: UnsafePointer<Float>) {
        let at = range.lowerBound
        multiply(count: range.count, x + at, by: mask.pointer + at, into: dropped.pointer + at)
    }

    /// What the layer hands on: `dropped` when dropout applied, else `x`.
    func output(_ x: UnsafeMutablePointer<Float>, active: Bool) -> UnsafeMutablePointer<Float> {
        active ? dropped.pointer : x
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
