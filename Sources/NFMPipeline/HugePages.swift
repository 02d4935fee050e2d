#if canImport(Glibc)
    import Glibc
#endif

/// Asks the kernel for transparent huge pages (2 MiB) under large, randomly accessed tables that are not
/// touched yet (`PackedRows`): one TLB entry then covers 512 times the memory, so a gather that reads
/// rows at random misses the TLB far less often, and the table faults in 2 MiB at a time. Advice only:
/// where the kernel has huge pages off, or on other systems, nothing changes (and never the contents).
enum HugePages {
    /// Regions smaller than this are left alone.
    static let minimumBytes = 8 << 20

    /// Advises huge pages for the whole 2 MiB-aligned pages inside `bytes` bytes at `start`, when `bytes`
    /// is at least `minimum`.
    static func advise(_ start: UnsafeMutableRawPointer, bytes: Int, minimum: Int = minimumBytes) {
        #if os(Linux)
            guard bytes >= minimum else { return }
            let page = 2 << 20
            let first = (Int(bitPattern: start) + page - 1) / page * page
            let last = (Int(bitPattern: start) + bytes) / page * page
            guard last > first, let aligned = UnsafeMutableRawPointer(bitPattern: first) else { return }
            _ = madvise(aligned, last - first, 14)  // MADV_HUGEPAGE
        #endif
    }
}
