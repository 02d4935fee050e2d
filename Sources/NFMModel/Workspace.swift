import NFMKernels

/// Scratch memory for forward and backward passes of one model over at most `capacity` rows; one per
/// thread. Each stage of the model keeps its own scratch here.
public final class Workspace: @unchecked Sendable {
    /// The most rows a forward pass may take.
    public let capacity: Int
    /// `ŷ` of the last forward pass, and `∂L/∂ŷ`.
    let output: FloatBuffer
    let gradOutput: FloatBuffer
    let linear: StageScratch
    let terms: [InteractionTerm.Scratch]
    /// Every stage's scratch, in `Model.stages` order.
    let stages: [StageScratch]
    /// Gradients of `Model.denseTrainable`, same order and shapes.
    let denseGradients: [FloatBuffer]
    /// The batch's sparse-gradient slots.
    let slots: SlotAssignment

    /// Scratch for `model` (and models of the same configuration) over at most `capacity` rows: about
    /// `capacity × (sum of the stages' widths)` floats.
    public init(model: Model, capacity: Int) {
        self.capacity = capacity
        output = FloatBuffer(count: capacity)
        gradOutput = FloatBuffer(count: capacity)
        linear = model.linearTerm.makeScratch(capacity: capacity)
        terms = model.terms.map { InteractionTerm.Scratch(term: $0, capacity: capacity) }
        stages = [linear] + terms.flatMap(\.stages)
        denseGradients = stages.flatMap(\.denseGradients)
        slots = SlotAssignment(featureCount: model.config.featureCount)
    }

    /// Predictions of the last forward pass.
    public var predictions: UnsafeMutablePointer<Float> { output.pointer }
}

/// One gradient slot per distinct feature of a batch, so that the sparse gradients of a feature that
/// appears in several rows are summed before one optimiser update of its rows.
final class SlotAssignment {
    /// Slot of each entry of the batch (entry numbers from 0).
    private(set) var entrySlots: [Int32] = [0]
    /// Feature of each slot.
    private(set) var slotFeature: [Int32] = [0]
    /// Slot of each feature, -1 outside a batch.
    private var slotOf: [Int32]
    private(set) var count = 0

    init(featureCount: Int) {
        slotOf = [Int32](repeating: -1, count: featureCount)
    }

    /// Numbers the distinct features of `x` in order of first appearance. O(entries).
    func assign(_ x: SparseRows) {
        let entries = x.entryCount
        let first = x.firstEntry
        if entrySlots.count < entries { entrySlots = [Int32](repeating: 0, count: entries) }
        if slotFeature.count < entries { slotFeature = [Int32](repeating: 0, count: entries) }
        var slots = 0
        slotOf.withUnsafeMutableBufferPointer { slotOf in
            entrySlots.withUnsafeMutableBufferPointer { entrySlots in
                slotFeature.withUnsafeMutableBufferPointer { slotFeature in
                    for e in 0..<entries {
                        let feature = Int(x.indices[first + e])
                        var slot = slotOf[feature]
                        if slot < 0 {
                            slot = Int32(slots)
                            slotOf[feature] = slot
                            slotFeature[slots] = Int32(feature)
                            slots += 1
                        }
                        entrySlots[e] = slot
                    }
                }
            }
        }
        count = slots
    }

    /// Forgets the batch's slots. O(slots).
    func release() {
        for s in 0..<count { slotOf[Int(slotFeature[s])] = -1 }
        count = 0
    }
}
