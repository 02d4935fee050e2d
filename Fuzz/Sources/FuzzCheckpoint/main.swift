// libFuzzer executable for the checkpoint target. Build with `-Xswiftc -sanitize=fuzzer,address` (see Package.swift).
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
        FuzzTarget.checkpoint.run(bytes)
        // The same bytes with a valid checksum, so that coverage guidance reaches the header behind it.
        if let rehashed = FuzzTarget.rehashedCheckpoint(bytes) { FuzzTarget.checkpoint.run(rehashed) }
        return 0
    })
