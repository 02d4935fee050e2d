import NFMKernels

extension Model {
    /// Writes `∂L/∂ŷ` for the loss summed over the batch (the authors' `tf.nn.l2_loss` / log loss) into
    /// `workspace.gradOutput` and returns the loss. `targets` are the training targets (±1 labels for
    /// squared loss, {0, 1} for log loss).
    func lossGradient(rows: Int, targets: UnsafePointer<Float>, workspace ws: Workspace) -> Double {
        lossGradient(rows: 0..<rows, targets: targets, workspace: ws, adding: 0)
    }

    /// `lossGradient` for the rows `rows` only, their losses added in order on to `loss` (a sum continued
    /// from the earlier rows gives the same bits as `lossGradient` over all of them).
    func lossGradient(rows: Range<Int>, targets: UnsafePointer<Float>, workspace ws: Workspace, adding loss: Double) -> Double {
        let y = ws.output.pointer
        let g = ws.gradOutput.pointer
        var loss = loss
        switch config.loss {
        case .squared:
            for r in rows {
                let d = y[r] - targets[r]
                g[r] = d
                loss += 0.5 * Double(d * d)
            }
        case .log:
            for r in rows {
                let z = Double(y[r])
                let p = 1 / (1 + Foundation.exp(-z))
                g[r] = Float(p - Double(targets[r]))
                // log(1 + e^{-|z|}) + max(z, 0) − t·z, stable.
                loss += Foundation.log1p(Foundation.exp(-abs(z))) + max(z, 0) - Double(targets[r]) * z
            }
        }
        return loss
    }

    /// One optimisation step on a batch: forward (training mode), loss, backward, sparse and dense
    /// updates, every part on the workspace's pool (the same bits for every thread count): the team step
    /// (`teamTrainStep`) for the models that support it, else fork-join jobs. Returns the batch loss
    /// (before the update).
    @discardableResult
    public func trainStep(
        _ x: SparseRows, targets: UnsafePointer<Float>, workspace ws: Workspace, optimizer: Optimizer,
        random: inout Xoshiro256
    ) -> Double {
        trainStep(x, targets: targets, workspace: ws, optimizer: optimizer, random: &random, fill: nil)
    }

    /// `trainStep` on a batch whose rows `fill` (non-nil) still has to copy into place (each thread of
    /// the team step copies its own rows).
    func trainStep(
        _ x: SparseRows, targets: UnsafePointer<Float>, workspace ws: Workspace, optimizer: Optimizer,
        random: inout Xoshiro256, fill: RowFill?
    ) -> Double {
        // NFM, FM and LR: the team step, also on one thread (a team of one: its row-wise passes over the
        // whole batch cost fewer instructions than the fork-join jobs run inline; the same bits).
        if x.rowCount > 0 && supportsTeamStep && !ws.forkJoinStep {
            return teamTrainStep(x, targets: targets, workspace: ws, optimizer: optimizer, random: &random, fill: fill)
        }
        fill?(0..<x.rowCount)
        // The step's dropout masks (in the forward pass's order, so the same masks) beside its gradient
        // slots and the linear term's forward pass (the shorter task; neither touches the masks).
        let masks = x.rowCount == 0 ? [] : zip(terms, ws.terms).flatMap { term, scratch in
            zip(term.stages, scratch.stages).flatMap { $0.maskRequests(rows: x.rowCount, scratch: $1) }
        }
        ws.pool.run(2) { task in
            if task == 0 {
                for mask in masks { mask.draw(random: &random) }
            } else {
                assignSlots(x, workspace: ws)
                linearTerm.forward(x, output: ws.output.pointer, pool: .serial)
            }
        }
        forwardTerms(x, workspace: ws, training: true, random: &random)
        let loss = lossGradient(rows: x.rowCount, targets: targets, workspace: ws)
        backward(x, workspace: ws)
        optimizer.beginStep()
        ws.slots.slotFeature.withUnsafeBufferPointer { rows in
            optimizer.apply(
                dense: zip(denseTrainable, ws.denseGradients), sparse: sparseGradientPairs(in: ws),
                rows: rows.baseAddress!, slots: ws.slots.count, pool: ws.pool)
        }
        releaseSlots(workspace: ws)
        return loss
    }
}

import Foundation
