import NFMKernels

/// The stages of a model that the team step (`Model.teamTrainStep`) knows: LR (no term), or one term of
/// Bi-Interaction (batch norm and dropout optional) → hidden layers (optional: any number, batch norm,
/// activation and dropout optional) → the prediction vector: NFM, NFM-0 and FM.
struct TeamTerm {
    let input: BiInteractionStage
    let hidden: DenseStack?
    let head: PredictionVector

    /// The model's term when it has this shape (nil for LR and for the other kinds).
    init?(_ term: InteractionTerm) {
        guard let input = term.input as? BiInteractionStage, let head = term.head as? PredictionVector else { return nil }
        if let hidden = term.hidden {
            guard let dense = hidden as? DenseStack else { return nil }
            self.hidden = dense
        } else {
            self.hidden = nil
        }
        self.input = input
        self.head = head
    }
}

extension Model {
    /// Whether `teamTrainStep` can train this model (LR, or NFM/FM: see `TeamTerm`).
    var supportsTeamStep: Bool {
        if terms.isEmpty { return true }
        return terms.count == 1 && TeamTerm(terms[0]) != nil
    }

    /// `trainStep` as one team job on the workspace's pool (`WorkerPool.runTeam`): each thread keeps a
    /// fixed share of the batch's rows (`TeamMember.share`, in units of 8 rows) through every row-wise part
    /// of the forward and backward passes, and the threads meet only where rows are summed: batch-norm
    /// statistics and parameter gradients, `∂W`, `∂b`, `∂h`, the loss and `∂w₀` are relays (thread 0
    /// sums its rows, the next continues from its partial sums, …: rows added in order, as one thread
    /// would); then the last thread runs the optimiser's dense tasks, and each thread sums
    /// the sparse gradients of the slot blocks of the features it owns and updates their rows
    /// (`sparseBackwardAndUpdate`). The dropout masks (one random stream, in order) are drawn by thread 0
    /// while the last thread assigns the gradient slots (by owner) and readies the optimiser's job.
    /// Synchronisation points: two relays with `awaitLast` per batch norm forward (μ, σ²) and one per batch
    /// norm backward, the pipelined relays of the loss, `∂h` and each layer's `∂W`, one empty relay after
    /// `fill`, and one barrier before the sparse phase (another after the forward pass when the last hidden
    /// layer has no batch norm).
    /// `fill` (non-nil) copies a range of the batch's rows into place: each thread copies its share
    /// first. On one thread (or a pool set to run inline) a team of one. Same bits as the fork-join step
    /// for every thread count. Requires `supportsTeamStep` and a batch of at least one row.
    func teamTrainStep(
        _ x: SparseRows, targets: UnsafePointer<Float>, workspace ws: Workspace, optimizer: Optimizer,
        random: inout Xoshiro256, fill: RowFill?
    ) -> Double {
        let masks = zip(terms, ws.terms).flatMap { term, scratch in
            zip(term.stages, scratch.stages).flatMap { $0.maskRequests(rows: x.rowCount, scratch: $1) }
        }
        // The plan holds this model's parameter pointers: made again when the workspace serves another model.
        if ws.teamPlan?.model != ObjectIdentifier(self) {
            ws.teamPlan = (ObjectIdentifier(self), nil, nil)
            if let term = terms.first.flatMap(TeamTerm.init), let scratch = ws.terms.first {
                let dense = scratch.hidden?.of(DenseStack.Scratch.self)
                let storage = TeamPlanStorage(
                    layers: term.hidden?.layers.count ?? 0,
                    dropouts: [scratch.input.of(BiInteractionStage.Scratch.self).dropout] + (dense?.dropouts ?? []))
                ws.teamPlan = (ObjectIdentifier(self), TeamPlan(term: term, scratch: scratch, storage: storage), storage)
            }
        }
        let plan = ws.teamPlan?.plan
        var loss = 0.0
        ws.pool.runTeam { member in
            let rows = member.share(of: x.rowCount, unit: 8)
            if let fill {
                // Each thread copies its own rows (then in its cache); the slot assignment (last thread) reads
                // them all: an empty relay orders every copy before it, and no thread waits for a later one.
                fill(rows)
                member.turn {}
            }
            if member.isFirst {
                for mask in masks { mask.draw(random: &random) }
            }
            if member.isLast {
                assignSlots(x, workspace: ws, owners: member.count)
                optimizer.beginStep()
                _ = optimizer.prepare(
                    dense: zip(denseTrainable, ws.denseGradients), sparse: sparseGradientPairs(in: ws),
                    slots: ws.slots.count)
            }
            linearTerm.forward(x, rows: rows, output: ws.output.pointer)
            if let plan { plan.forward(x, rows: rows, member: &member, output: ws.output.pointer) }
            // The loss and the backward pass read this thread's rows only, and `Wᵀ` (every thread's share):
            // published by the last layer's batch-norm relay, else by a barrier.
            if plan?.forwardNeedsBarrier ?? false { member.barrier() }
            let g = ws.gradOutput.pointer
            let biasGradient = ws.linear.denseGradients[0].pointer
            let first = member.isFirst
            member.turn {
                loss = lossGradient(rows: rows, targets: targets, workspace: ws, adding: loss)
                var total: Float = first ? 0 : biasGradient[0]
                for r in rows { total += g[r] }
                biasGradient[0] = total
            }
            if let plan { plan.backward(rows: rows, batchRows: x.rowCount, gradOutput: g, member: &member) }
            member.barrier()
            sparseBackwardAndUpdate(x, plan: plan, workspace: ws, optimizer: optimizer, member: &member)
        }
        for dropout in ws.teamPlan?.storage?.dropouts ?? [] { dropout.cancelRequest() }
        return loss
    }

    /// The team step's last phase: the optimiser's dense tasks on the last thread, and on each thread the
    /// slot blocks of the features it owns (`SlotAssignment.ownerBlocks`: feature `f`
    /// belongs to thread `f mod T`, so its table rows are written by the same core from step to step),
    /// each block's embedding and first-order gradient rows summed then updated at once (while in cache;
    /// a slot's backward reads only its own row of the table, so updating the rows of one block while
    /// another block's gradients are summed changes nothing). The same bits as the gradients then the
    /// optimiser's job.
    private func sparseBackwardAndUpdate(
        _ x: SparseRows, plan: TeamPlan?, workspace ws: Workspace, optimizer: Optimizer, member: inout TeamMember
    ) {
        let slots = ws.slots
        let entries = slots.entries
        let g = UnsafePointer(ws.gradOutput.pointer)
        let linearGradient = linearTerm.hasWeights ? ws.linear.sparseGradients[0].pointer : nil
        let embeddingGradient = plan == nil ? nil : ws.terms.first?.input.sparseGradients[0].pointer
        // The sparse tables in `prepare`'s order: the first-order weights (when the model has them), then
        // the embeddings.
        let embeddingTable = linearGradient == nil ? 0 : 1
        let denseTasks = optimizer.preparedDenseTasks
        slots.slotFeature.withUnsafeBufferPointer { features in
            let features = features.baseAddress!
            slots.blockStarts.withUnsafeBufferPointer { starts in
                func runBlock(_ block: Int) {
                    let range = Int(starts[block])..<Int(starts[block + 1])
                    if let plan, let embeddingGradient {
                        plan.embeddingBackward(x, entries: entries, slots: range, into: embeddingGradient)
                        optimizer.updateSparse(table: embeddingTable, slots: range, rows: features)
                    }
                    if let linearGradient {
                        linearBackward(x, gradOutput: g, entries: entries, slots: range, gradWeights: linearGradient)
                        optimizer.updateSparse(table: 0, slots: range, rows: features)
                    }
                }
                // The dense tasks on the last thread: it ran the last leg of every relay that summed their
                // gradients, so they are in its cache, and their optimiser state stays there from step to
                // step; the other threads start on their slot blocks at once.
                if member.isLast {
                    for task in 0..<denseTasks { optimizer.runTask(task, rows: features) }
                }
                // Each thread the slot blocks of the features it owns (`SlotAssignment.ownerBlocks`), whose
                // table rows and optimiser state it updated in the previous steps too; then what is left of
                // the others' (the last thread starts late by the dense tasks).
                slots.ownerBlocks.withUnsafeBufferPointer { owned in
                    member.forEachClaimed(ranges: { Int(owned[$0])..<Int(owned[$0 + 1]) }) { runBlock($0) }
                }
            }
        }
    }
}
