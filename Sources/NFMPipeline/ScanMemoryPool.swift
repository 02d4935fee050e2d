import Foundation

/// Memory of finished partition scans handed to the next ones: their vocabulary tables (emptied by
/// `VocabularyScanTables.reset`) and their pair buffers (emptied, capacity kept). A build's partitions
/// have similar vocabularies and sizes, so a reused table or buffer starts at its final size instead of
/// doubling up to it — rehashing or copying, and faulting in fresh pages, at every step (10 M-row
/// synthetic log: ≈ 35 % of the build's page faults were the scans' table growth). Which scan gets which
/// memory changes no index: a table's size or a buffer's capacity never decides one. Thread-safe; holds at
/// most one set per scan that ran at once, until the pool is freed.
final class ScanMemoryPool: @unchecked Sendable {
    private let lock = NSLock()
    private var tables: [VocabularyScanTables] = []
    private var pairs: [[UInt64]] = []

    init() {}

    /// Emptied tables for `count` fields: a returned set when one of that many fields is free, else new.
    func takeTables(count: Int) -> VocabularyScanTables {
        let reused = lock.withLock { () -> VocabularyScanTables? in
            guard let i = tables.lastIndex(where: { $0.count == count }) else { return nil }
            return tables.remove(at: i)
        }
        guard let reused else { return VocabularyScanTables(count: count) }
        reused.reset()
        return reused
    }

    /// Returns `table` (no longer used by its scan) for a later `takeTables`.
    func give(_ table: VocabularyScanTables) {
        lock.withLock { tables.append(table) }
    }

    /// An empty pair buffer: a returned one (its capacity kept) when there is one, else a new one.
    func takePairs() -> [UInt64] {
        lock.withLock { pairs.popLast() } ?? []
    }

    /// Returns `buffer` (emptied here, its capacity kept) for a later `takePairs`.
    func give(_ buffer: consuming [UInt64]) {
        var emptied = buffer
        emptied.removeAll(keepingCapacity: true)
        lock.withLock { pairs.append(emptied) }
    }
}
