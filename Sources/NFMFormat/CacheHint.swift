import CCacheHint

/// Cache hints for loops that read memory at random (they never change a result).
public enum CacheHint {
    /// Asks the processor to start loading the cache line at `address` (a prefetch instruction, which,
    /// unlike a load, neither waits for the line nor can fault): a gather issues it for the rows of its
    /// next batch before it decodes the current one, so that the misses overlap with the decoding.
    @inlinable @inline(__always)
    public static func prefetch(_ address: UnsafeRawPointer) { nfm_prefetch_read(address) }
}
