import CCacheHint

/// Asks the processor to start loading every cache line of the `bytes` bytes at `start` (prefetch
/// instructions: they neither wait nor fault, and never change a result): for the rows of a table that a
/// kernel is about to read at random. O(bytes / 64) instructions.
@inline(__always) public func prefetchLines(_ start: UnsafeRawPointer, bytes: Int) {
    guard bytes > 0 else { return }
    var offset = 0
    while offset < bytes {
        nfm_prefetch_read(start + offset)
        offset &+= 64
    }
    nfm_prefetch_read(start + (bytes &- 1))
}

/// `prefetchLines` for memory about to be written: the lines are fetched for ownership (`prefetchw`), so
/// that lines another core has read since they were written here are taken back in parallel, not one
/// store at a time.
@inline(__always) public func prefetchLinesForWriting(_ start: UnsafeRawPointer, bytes: Int) {
    guard bytes > 0 else { return }
    var offset = 0
    while offset < bytes {
        nfm_prefetch_write(start + offset)
        offset &+= 64
    }
    nfm_prefetch_write(start + (bytes &- 1))
}
