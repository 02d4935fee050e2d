import Foundation
import NFMModel

// kernel-benchmarks            every kernel line (best of 5 timings), µs per call and GFLOP/s
// kernel-benchmarks gemm [K]     Wide&Deep's 10K → 1024 products as training issues them, and NFM's 64-wide one
// kernel-benchmarks steps KIND N   N training steps of KIND (nfm, fm, lr, hofm, wide-deep, deep-cross), untimed
let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "steps" {
    guard arguments.count == 3, let kind = ModelKind(rawValue: arguments[1]), let count = Int(arguments[2]), count >= 0
    else {
        FileHandle.standardError.write(Data("usage: kernel-benchmarks steps KIND COUNT\n".utf8))
        exit(2)
    }
    print("loss after \(count) steps of \(kind.rawValue): \(TrainSteps.run(kind: kind, count: count))")
} else if arguments.first == "gemm" {
    let k = arguments.count > 1 ? Int(arguments[1]) ?? 128 : 128
    for line in KernelBenchmark.largeProducts(k: k) {
        print(String(format: "%-66@ %9.2f µs  %6.1f GFLOP/s", line.name, line.seconds * 1e6, line.gflops))
    }
} else if arguments.isEmpty {
    for line in KernelBenchmark.run() {
        print(String(format: "%-60@ %9.2f µs  %6.1f GFLOP/s", line.name, line.seconds * 1e6, line.gflops))
    }
} else {
    FileHandle.standardError.write(Data("usage: kernel-benchmarks [gemm [K] | steps KIND COUNT]\n".utf8))
    exit(2)
}
