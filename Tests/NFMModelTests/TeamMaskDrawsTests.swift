import NFMKernels
import Testing

@testable import NFMModel

/// The team step's dropout masks drawn in pieces by several threads (`TeamMaskDraws`, `XoshiroJump`):
/// the values and the generator's final state of one thread drawing every mask in order.
@Suite struct TeamMaskDrawsTests {
    /// A jump over `n` draws leaves the state of `n` calls of `next()`.
    @Test(arguments: [0, 1, 2, 63, 64, 65, 1000])
    func jumpIsThatManyDraws(draws n: Int) {
        var stepped = Xoshiro256(seed: 77, stream: .dropout)
        for _ in 0..<n { _ = stepped.next() }
        var jumped = Xoshiro256(seed: 77, stream: .dropout)
        jumped.jump(XoshiroJump(draws: n))
        #expect((0..<4).map { _ in jumped.next() } == (0..<4).map { _ in stepped.next() })
    }

    /// Masks of 45 rows (a count not a multiple of 4 last, so the last draw is partial), cut for 2 and 3
    /// threads, with the slot-assignment estimate of a fixed layout and without (a sparse one): every
    /// thread drawing its piece, in any order, gives the masks and the final state of the serial draws.
    @Test(arguments: [(2, false), (3, false), (2, true), (3, true)])
    func piecesGiveTheSerialMasks(threads: Int, sparse: Bool) {
        let rows = 45
        let widths = [16, 8, 7]
        let workspace = Workspace(model: Model(config: ModelConfig(kind: .lr, featureCount: 10)), capacity: 1)
        let total = widths.reduce(0, +) * rows
        let serial = UnsafeMutablePointer<Float>.allocate(capacity: total)
        let team = UnsafeMutablePointer<Float>.allocate(capacity: total)
        let indices = UnsafeMutablePointer<UInt32>.allocate(capacity: rows * 3)
        let offsets = UnsafeMutablePointer<UInt32>.allocate(capacity: rows + 1)
        defer { serial.deallocate(); team.deallocate(); indices.deallocate(); offsets.deallocate() }
        team.initialize(repeating: -1, count: total)
        indices.initialize(repeating: 0, count: rows * 3)
        for r in 0...rows { offsets[r] = UInt32(3 * r) }
        func requests(_ base: UnsafeMutablePointer<Float>) -> [MaskRequest] {
            var at = 0
            return widths.enumerated().map { m, width in
                defer { at += rows * width }
                return MaskRequest(mask: base + at, count: rows * width, keep: [0.5, 0.8, 0.3][m])
            }
        }
        var random = Xoshiro256(seed: 3, stream: .dropout)
        for _ in 0..<2 {  // twice: the second step reuses the cached jumps
            var reference = random
            for mask in requests(serial) { mask.draw(random: &reference) }
            let x = SparseRows(rowCount: rows, fieldCount: 3, indices: indices, offsets: sparse ? offsets : nil)
            let draws = TeamMaskDraws(masks: requests(team), batch: x, threads: threads, workspace: workspace)
            defer { draws.deallocate() }
            var finals: [Xoshiro256] = []
            for t in (0..<threads).reversed() {
                if let end = draws.draw(thread: t, start: random) { finals.append(end) }
            }
            #expect(finals.count == 1)
            #expect((0..<total).allSatisfy { serial[$0].bitPattern == team[$0].bitPattern })
            var end = finals.first ?? random
            #expect(end.next() == reference.next())
            random = reference
        }
        #expect(!workspace.maskJumps.isEmpty)
    }
}
