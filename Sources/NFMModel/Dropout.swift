import NFMKernels

/// Inverted dropout of a `rows × width` activation (Srivastava et al. 2014): in training, each value is
/// kept with probability `1 − ratio` and scaled by `1/(1 − ratio)` (`dropoutMask`); the mask and the
/// dropped copy live here, so the activation itself stays available to the backward pass.
final class DropoutScratch {
    let ratio: Float
    let mask: FloatBuffer
    let dropped: FloatBuffer

    init(ratio: Float, count: Int) {
        self.ratio = ratio
        mask = FloatBuffer(count: ratio > 0 ? count : 0)
        dropped = FloatBuffer(count: ratio > 0 ? count : 0)
    }

    /// `x ⊙ mask` (a fresh mask from `random`) when training with a positive ratio, else `x` itself.
    func forward(
        count: Int, _ x: UnsafeMutablePointer<Float>, training: Bool, random: inout Xoshiro256
    ) -> UnsafeMutablePointer<Float> {
        guard training && ratio > 0 else { return x }
        dropoutMask(count: count, keep: 1 - ratio, into: mask.pointer, random: &random)
        dropped.pointer.update(from: x, count: count)
        multiply(count: count, dropped.pointer, by: mask.pointer)
        return dropped.pointer
    }

    /// `∂L/∂x = ∂L/∂y ⊙ mask`, in place (after a training-mode forward).
    func backward(count: Int, _ gradient: UnsafeMutablePointer<Float>) {
        if ratio > 0 { multiply(count: count, gradient, by: mask.pointer) }
    }
}
