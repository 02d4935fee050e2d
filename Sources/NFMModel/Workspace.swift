import NFMKernels

/// Scratch memory for forward and backward passes of one model over at most `capacity` rows, and the
/// `WorkerPool` that runs them. Each stage of the model keeps its own scratch here.
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
    /// The threads of every pass over this workspace (results never depend on their number).
    let pool: WorkerPool
    /// The team step's pointers into this workspace and the parameters of `model` (`Model.teamTrainStep`),
    /// made at its first step for that model (`plan` nil for LR).
    var teamPlan: (model: ObjectIdentifier, plan: TeamPlan?, storage: TeamPlanStorage?)?
    /// When true, `Model.trainStep` runs the fork-join step even for models the team step supports (the
    /// tests' reference for the team step's bits).
    var forkJoinStep = false

    /// Scratch for `model` (and models of the same configuration) over at most `capacity` rows: about
    /// `capacity × (sum of the stages' widths)` floats. `threads` threads run each pass (1: the caller
    /// alone); the results are the same bits for every thread count.
    public convenience init(model: Model, capacity: Int, threads: Int = 1) {
        self.init(model: model, capacity: capacity, pool: threads > 1 ? WorkerPool(threads: threads) : .serial)
    }

    /// Scratch whose passes run on `pool` (tests pass a pool with `minimumParallelCost` 0, so that every
    /// job of a small batch takes the parallel path).
    init(model: Model, capacity: Int, pool: WorkerPool) {
        self.capacity = capacity
        output = FloatBuffer(count: capacity)
        gradOutput = FloatBuffer(count: capacity)
        linear = model.linearTerm.makeScratch(capacity: capacity)
        terms = model.terms.map { InteractionTerm.Scratch(term: $0, capacity: capacity) }
        stages = [linear] + terms.flatMap(\.stages)
        denseGradients = stages.flatMap(\.denseGradients)
        slots = SlotAssignment(featureCount: model.config.featureCount)
        self.pool = pool
        for scratch in stages { scratch.pool = pool }
    }

    /// Predictions of the last forward pass.
    public var predictions: UnsafeMutablePointer<Float> { output.pointer }
}

/// One gradient slot per distinct feature of a batch, so that the sparse gradients of a feature that
/// appears in several rows are summed before one optimiser update of its rows; and the batch's entries
/// grouped by slot (`SlotEntries`), so that each slot's gradient row is written by one task.
final class SlotAssignment {
    /// Slot of each entry of the batch (entry numbers from 0).
    private(set) var entrySlots: [Int32] = [0]
    /// Feature of each slot.
    private(set) var slotFeature: [Int32] = [0]
    /// Slot of each feature, -1 outside a batch.
    private var slotOf: [Int32]
    private(set) var count = 0
    /// The slot blocks of the sparse backward tasks: block `b` is the slots `blockStarts[b] ..<
    /// blockStarts[b + 1]`, consecutive slots holding at least `entryGrain` entries (the last block
    /// fewer). Fixed by the batch alone.
    private(set) var blockStarts: [Int32] = [0]
    /// With `owners` threads (`assign(_:owners:)`), the blocks of owner `t`: `ownerBlocks[t] ..<
    /// ownerBlocks[t + 1]`; owner `t` holds the features `f` with `f mod owners = t`, numbered before the
    /// next owner's.
    private(set) var ownerBlocks: [Int32] = [0, 0]
    /// Owner `o`'s slots are `ownerStarts[o] ..< ownerStarts[o + 1]` (one owner: all of them).
    private var ownerStarts: [Int32] = [0, 0]
    /// Scratch of the renumbering by owner: a slot's new number; the permuted features and counts, each
    /// slot's owner and the owners' next slots.
    private var renumbered = IntBuffer(count: 1)
    private var permuted = IntBuffer(count: 1)
    /// Entries per slot block of a sparse backward pass.
    static let entryGrain = 128
    /// `SlotEntries` storage: slot offsets (`count + 1`), entries by slot, row of each entry.
    private var start = IntBuffer(count: 1)
    private var grouped = IntBuffer(count: 1)
    private var entryRow = IntBuffer(count: 1)

    init(featureCount: Int) {
        slotOf = [Int32](repeating: -1, count: featureCount)
    }

    deinit {
        start.pointer.deallocate()
        grouped.pointer.deallocate()
        entryRow.pointer.deallocate()
        renumbered.pointer.deallocate()
        permuted.pointer.deallocate()
    }

    /// The entries of the current batch grouped by slot (valid until the next `assign`).
    var entries: SlotEntries {
        SlotEntries(start: start.pointer, entries: grouped.pointer, rows: entryRow.pointer)
    }

    /// Numbers the distinct features of `x` in order of first appearance, counting each slot's entries as
    /// it goes, then groups the entries by slot (a counting sort, entries in increasing order within a
    /// slot). O(entries), through raw pointers (no bounds or uniqueness checks per entry).
    ///
    /// With `owners` > 1 the slots are then renumbered by owner (`ownerBlocks`: the features `f` with
    /// `f mod owners = t` first for `t = 0`, then for 1, …, first-appearance order within an owner), so
    /// that a team thread can update the same table rows from step to step, which stay in its cache. No
    /// bit depends on the numbering: each slot's gradient sums its own entries in entry order, and each
    /// table row is updated alone.
    ///
    /// The previous batch's slots are forgotten first (`release`), here, so that the feature map stays in
    /// the cache of the thread that assigns (a team step's last thread) instead of moving to whichever
    /// thread ends the step.
    func assign(_ x: SparseRows, owners: Int = 1) {
        release()
        let entries = x.entryCount
        let indices = x.indices + x.firstEntry
        if entrySlots.count < entries { entrySlots = [Int32](repeating: 0, count: entries) }
        if slotFeature.count < entries { slotFeature = [Int32](repeating: 0, count: entries) }
        // At most one slot per entry: `start[s + 1]` counts slot s's entries (zeroed for all of them first).
        start.reserve(entries + 1)
        let start = start.pointer
        start.update(repeating: 0, count: entries + 1)
        var slots = 0
        slotOf.withUnsafeMutableBufferPointer { slotOf in
            entrySlots.withUnsafeMutableBufferPointer { entrySlots in
                slotFeature.withUnsafeMutableBufferPointer { slotFeature in
                    let (slotOf, entrySlots, slotFeature) = (slotOf.baseAddress!, entrySlots.baseAddress!, slotFeature.baseAddress!)
                    // Without a branch on "new feature" (taken for a fifth of a Frappe batch's entries, at
                    // random: a misprediction each): every entry writes its feature at the next free slot,
                    // which only a new feature claims.
                    for e in 0..<entries {
                        let feature = Int(indices[e])
                        let known = slotOf[feature]
                        let isNew = known < 0
                        let slot = isNew ? Int32(truncatingIfNeeded: slots) : known
                        slotOf[feature] = slot
                        slotFeature[slots] = Int32(truncatingIfNeeded: feature)
                        slots &+= isNew ? 1 : 0
                        entrySlots[e] = slot
                        start[Int(slot) &+ 1] &+= 1
                    }
                }
            }
        }
        count = slots
        if owners > 1 {
            renumber(owners: owners, entries: entries)
        } else {
            ownerStarts.removeAll(keepingCapacity: true)
            ownerStarts.append(0)
            ownerStarts.append(Int32(truncatingIfNeeded: slots))
        }
        group(x, entries: entries)
        cutBlocks()
    }

    /// Renumbers the slots by owner (`assign(_:owners:)`): the features, the per-slot counts in `start`,
    /// the slot of each entry and of each feature; leaves owner `o`'s first slot in `ownerStarts[o]`
    /// (`ownerStarts[owners]` = `count`). One division per slot at most (none for a power-of-two
    /// `owners`). O(slots + entries).
    private func renumber(owners: Int, entries: Int) {
        let count = count
        renumbered.reserve(count)
        permuted.reserve(3 * count + owners + 1)
        let start = start.pointer
        let (features, counts, owner) = (permuted.pointer, permuted.pointer + count, permuted.pointer + 2 * count)
        let next = permuted.pointer + 3 * count
        for o in 0...owners { next[o] = 0 }
        let mask = owners & (owners - 1) == 0 ? owners - 1 : -1
        slotFeature.withUnsafeBufferPointer { slotFeature in
            for s in 0..<count {
                let feature = Int(slotFeature[s])
                let o = mask >= 0 ? feature & mask : feature % owners
                owner[s] = Int32(truncatingIfNeeded: o)
                next[o &+ 1] &+= 1
            }
        }
        // `next[o]`: owner o's first slot; kept in `ownerStarts` before it counts on.
        for o in 0..<owners { next[o &+ 1] &+= next[o] }
        ownerStarts.removeAll(keepingCapacity: true)
        for o in 0...owners { ownerStarts.append(next[o]) }
        slotOf.withUnsafeMutableBufferPointer { slotOf in
            slotFeature.withUnsafeMutableBufferPointer { slotFeature in
                let remap = renumbered.pointer
                for s in 0..<count {
                    let feature = slotFeature[s]
                    let o = Int(owner[s])
                    let id = next[o]
                    next[o] = id &+ 1
                    remap[s] = id
                    features[Int(id)] = feature
                    counts[Int(id)] = start[s &+ 1]
                    slotOf[Int(feature)] = id
                }
                for s in 0..<count {
                    slotFeature[s] = features[s]
                    start[s &+ 1] = counts[s]
                }
            }
            entrySlots.withUnsafeMutableBufferPointer { entrySlots in
                let remap = renumbered.pointer
                for e in 0..<entries { entrySlots[e] = remap[Int(entrySlots[e])] }
            }
        }
    }

    /// `blockStarts` from the grouped entries and the owners' consecutive slot ranges (`ownerStarts`): a
    /// block ends once it holds `entryGrain` entries, or where the next owner's slots begin; owner `o`'s
    /// blocks are `ownerBlocks[o] ..< ownerBlocks[o + 1]`. O(slots).
    private func cutBlocks() {
        blockStarts.removeAll(keepingCapacity: true)
        blockStarts.append(0)
        ownerBlocks.removeAll(keepingCapacity: true)
        let start = start.pointer
        for o in 0..<(ownerStarts.count - 1) {
            ownerBlocks.append(Int32(blockStarts.count - 1))
            var first = Int(ownerStarts[o])
            let end = Int(ownerStarts[o + 1])
            for s in first..<end where Int(start[s + 1] - start[first]) >= Self.entryGrain {
                blockStarts.append(Int32(s + 1))
                first = s + 1
            }
            if first < end { blockStarts.append(Int32(end)) }
        }
        ownerBlocks.append(Int32(blockStarts.count - 1))
    }

    /// The counting sort of `assign`, from its per-slot counts in `start[1...count]`.
    private func group(_ x: SparseRows, entries: Int) {
        grouped.reserve(entries)
        entryRow.reserve(entries)
        let start = start.pointer, grouped = grouped.pointer, entryRow = entryRow.pointer
        let count = count
        for s in 0..<count { start[s &+ 1] &+= start[s] }
        entrySlots.withUnsafeBufferPointer { entrySlots in
            let entrySlots = entrySlots.baseAddress!
            // Fill from the back of each slot's range, entries in decreasing order, so that `start` ends
            // where it began.
            for s in 0..<count { start[s] = start[s &+ 1] }
            var e = entries
            while e > 0 {
                e &-= 1
                let s = Int(entrySlots[e])
                let at = start[s] &- 1
                start[s] = at
                grouped[Int(at)] = Int32(truncatingIfNeeded: e)
            }
        }
        if x.offsets == nil {
            // Fixed rows: `fieldCount` entries per row.
            var e = 0
            for r in 0..<x.rowCount {
                for _ in 0..<x.fieldCount {
                    entryRow[e] = Int32(truncatingIfNeeded: r)
                    e &+= 1
                }
            }
        } else {
            let first = x.firstEntry
            for r in 0..<x.rowCount {
                for e in x.range(ofRow: r) { entryRow[e - first] = Int32(truncatingIfNeeded: r) }
            }
        }
    }

    /// Forgets the batch's slots. O(slots).
    func release() {
        slotOf.withUnsafeMutableBufferPointer { slotOf in
            slotFeature.withUnsafeBufferPointer { slotFeature in
                for s in 0..<count { slotOf[Int(slotFeature[s])] = -1 }
            }
        }
        count = 0
    }
}

/// A growable buffer of `Int32`s whose address stays valid between calls (unlike an array's).
struct IntBuffer {
    private(set) var pointer: UnsafeMutablePointer<Int32>
    private var capacity: Int

    init(count: Int) {
        capacity = max(1, count)
        pointer = .allocate(capacity: capacity)
    }

    /// Makes room for `count` values (contents are not kept).
    mutating func reserve(_ count: Int) {
        guard count > capacity else { return }
        pointer.deallocate()
        capacity = max(count, 2 * capacity)
        pointer = .allocate(capacity: capacity)
    }
}
