// libFuzzer executable for the shard target. Build with `-Xswiftc -sanitize=fuzzer,address` (see Package.swift).
import CLibFuzzer
import FuzzTargets

#if canImport(Glibc)
    import Glibc
#endif

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(
    LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
        FuzzTarget.shard.run(bytes)
        // The same bytes read as header + raw payload, recompressed, to reach the payload checks.
        if let shard = FuzzTarget.recompressedShard(bytes) { FuzzTarget.shard.run(shard) }
        return 0
    })
