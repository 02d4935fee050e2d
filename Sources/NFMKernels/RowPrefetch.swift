import CCacheHint

/// Asks the processor to start loading every cache line of the `bytes` bytes at `start` (prefetch
/// instructions: they neither wait nor fault, and never change a result): for rows that a kernel is about
/// to read at random. `forWriting` fetches the lines for ownership (`prefetchw`), for memory about to be
/// written that another core has read since it was last written here: its lines are then taken back in
/// parallel, not one store at a time. O(bytes / 64) instructions.
@inline(__always) public func prefetchLines(_ start: UnsafeRawPointer, bytes: Int, forWriting: Bool = false) {
    guard bytes > 0 else { return }
    var offset = 0
    while offset < bytes {
        forWriting ? nfm_prefetch_write(start + offset) : nfm_prefetch_read(start + offset)
        offset &+= 64
    }
    forWriting ? nfm_prefetch_write(start + (bytes &- 1)) : nfm_prefetch_read(start + (bytes &- 1))
}
