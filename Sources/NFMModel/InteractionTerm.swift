import NFMKernels

/// One term of a model's prediction beyond the linear part: an input stage on the sparse rows, hidden
/// stages (optional), and a head that adds one value per row to `ŷ`.
///
/// NFM: Bi-Interaction → hidden layers → `hᵀ·`; FM: Bi-Interaction → `1ᵀ·`; Wide&Deep: field
/// concatenation → hidden layers → `hᵀ·`; DeepCross: field concatenation → residual units → `hᵀ·`;
/// HOFM: two terms, Bi-Interaction → `Σ_f` and ANOVA order 3 → `Σ_f`.
struct InteractionTerm {
    let input: any SparseInputStage
    let hidden: (any HiddenStage)?
    let head: any OutputHead

    /// The term's stages in order (checkpoint and update order).
    var stages: [any ModelStage] { [input] + (hidden.map { [$0] } ?? []) + [head] }

    /// The term's scratch for one workspace, and the activations its forward pass handed on.
    final class Scratch {
        let input: StageScratch
        let hidden: StageScratch?
        let head: StageScratch
        var inputOutput: UnsafeMutablePointer<Float>?
        var hiddenOutput: UnsafeMutablePointer<Float>?

        init(term: InteractionTerm, capacity: Int) {
            input = term.input.makeScratch(capacity: capacity)
            hidden = term.hidden?.makeScratch(capacity: capacity)
            head = term.head.makeScratch(capacity: capacity)
        }

        /// In stage order.
        var stages: [StageScratch] { [input] + (hidden.map { [$0] } ?? []) + [head] }
    }

    /// `output[r] += term(x_r)`.
    func forward(
        _ x: SparseRows, scratch s: Scratch, training: Bool, random: inout Xoshiro256, output: UnsafeMutablePointer<Float>
    ) {
        // The input stage's last row job (batch norm's normalisation and dropout) runs inside the hidden
        // stage's first one, block by block: one job fewer, and that work on every thread.
        var (current, pending) = input.forwardDeferringRows(x, scratch: s.input, training: training, random: &random)
        s.inputOutput = current
        if let hidden, let hiddenScratch = s.hidden {
            current = hidden.forward(
                rows: x.rowCount, input: current, scratch: hiddenScratch, training: training, random: &random,
                pending: pending)
        } else if let pending {
            s.input.pool.forEachRowBlock(x.rowCount, perRow: 6 * input.outputWidth, pending)
        }
        s.hiddenOutput = current
        head.forward(rows: x.rowCount, input: current, scratch: s.head, training: training, random: &random, output: output)
    }

    /// Backward after a training-mode `forward` of the same rows, with `∂L/∂ŷ` in `gradOutput`.
    func backward(
        _ x: SparseRows, gradOutput: UnsafePointer<Float>, scratch s: Scratch, slots: SlotAssignment
    ) {
        guard let inputOutput = s.inputOutput, let hiddenOutput = s.hiddenOutput else { return }
        let rows = x.rowCount
        var gradient = head.backward(rows: rows, input: hiddenOutput, gradOutput: gradOutput, scratch: s.head)
        if let hidden, let hiddenScratch = s.hidden {
            gradient = hidden.backward(rows: rows, input: inputOutput, gradient: gradient, scratch: hiddenScratch)
        }
        input.backward(x, gradient: gradient, scratch: s.input, slots: slots)
    }
}
