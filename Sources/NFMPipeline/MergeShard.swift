/// Which merge shard owns a value in a sharded merge (`nfm build-step plan --merge-shards R`).
///
/// `shard(v) = fmix64(FNV-1a-64(bytes of v)) mod R`, with FNV-1a's offset basis 0xCBF29CE484222325 and
/// prime 0x100000001B3, and MurmurHash3's 64-bit finaliser `fmix64` (so that the low bits, and thus `mod R`,
/// depend on every byte). A pure function of the value's bytes and `R`: the same on every machine and in
/// every field.
enum MergeShard {
    /// Most merge shards a plan may ask for.
    static let maximum = 4_096

    /// The shard of `bytes` among `shards` (≥ 1).
    @inline(__always)
    static func of(_ bytes: UnsafeBufferPointer<UInt8>, shards: Int) -> Int {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        h ^= h >> 33
        h = h &* 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 33
        h = h &* 0xC4CE_B9FE_1A85_EC53
        h ^= h >> 33
        return Int(h % UInt64(shards))
    }
}
