import NFMKernels
import Testing

@testable import NFMModel

/// `SlotAssignment.assign(_:owners:)`, as the team step calls it: the slots are numbered by owner thread
/// (feature `f` belongs to owner `f mod owners`; first appearance within an owner), each owner's slots
/// form whole slot blocks (`ownerBlocks`), and the grouping is still exact: slot `s` holds precisely the
/// entries of its feature, in increasing entry order, and the slot of each entry is the slot of its
/// feature.
@Suite struct SlotOwnerTests {
    @Test(arguments: [1, 2, 3])
    func slotsAreGroupedByOwnerAndStillExact(owners: Int) {
        let (rows, fields) = (150, 4)
        // Field 0 has 5 values (frequent features), the others 100 each (rarer ones).
        let indices = skewedIndices(rows: rows, fields: fields, frequent: 5, rare: 100, seed: 3)
        indices.withUnsafeBufferPointer { idx in
            let x = SparseRows(rowCount: rows, fieldCount: fields, indices: idx.baseAddress!)
            let slots = SlotAssignment(featureCount: 305)
            for round in 0..<2 {  // a second batch after `release` reuses the scratch
                slots.assign(x, owners: owners)
                let features = Array(slots.slotFeature.prefix(slots.count)).map(Int.init)
                // Every distinct feature once; owners in order, first appearance within each.
                var firstSeen: [Int] = []
                for e in 0..<(rows * fields) where !firstSeen.contains(Int(indices[e])) { firstSeen.append(Int(indices[e])) }
                let expected = (0..<owners).flatMap { o in firstSeen.filter { $0 % owners == o } }
                #expect(features == expected, "owners \(owners) round \(round)")
                // Slot s owns exactly the entries of its feature, increasing.
                let entries = slots.entries
                for s in 0..<slots.count {
                    let mine = entries.range(ofSlot: s).map { Int(entries.entries[$0]) }
                    #expect(mine == (0..<(rows * fields)).filter { Int(indices[$0]) == features[s] }, "slot \(s)")
                    #expect(mine.allSatisfy { Int(entries.rows[$0]) == $0 / fields })
                }
                // Owner t's blocks hold exactly its slots; blocks tile the slots.
                let starts = slots.blockStarts.map(Int.init)
                let owned = slots.ownerBlocks.map(Int.init)
                #expect(owned.count == owners + 1 && owned.first == 0 && owned.last == starts.count - 1)
                #expect(starts.first == 0 && starts.last == slots.count)
                for t in 0..<owners {
                    let range = starts[owned[t]]..<starts[owned[t + 1]]
                    #expect(range.allSatisfy { features[$0] % owners == t }, "owner \(t)")
                    #expect(range.count == features.filter { $0 % owners == t }.count, "owner \(t)")
                }
                slots.release()
            }
        }
    }
}
