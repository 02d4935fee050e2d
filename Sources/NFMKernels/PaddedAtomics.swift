import Synchronization

/// `count` atomic words, each alone on its own 64-byte cache line, so that threads writing different
/// words never contend for a line (the counters of `WorkerPool` jobs and of its team jobs). Every word
/// starts at 0; the owner frees them with `deallocate()`.
struct PaddedAtomics {
    let count: Int
    private let lines: UnsafeMutableRawPointer

    init(count: Int) {
        self.count = count
        lines = UnsafeMutableRawPointer.allocate(byteCount: count * 64, alignment: 64)
        for i in 0..<count { (lines + i * 64).bindMemory(to: Atomic<UInt64>.self, capacity: 1).initialize(to: Atomic(0)) }
    }

    /// Word `i` (`0..<count`).
    subscript(_ i: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        (lines + i * 64).assumingMemoryBound(to: Atomic<UInt64>.self)
    }

    func deallocate() {
        for i in 0..<count { self[i].deinitialize(count: 1) }
        lines.deallocate()
    }
}
