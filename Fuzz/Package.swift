// swift-tools-version: 6.2
import Foundation
import PackageDescription

/// Fuzz targets for nfm's readers (RELIABILITY.md). A nested package, so `swift test` in the parent
/// never builds it. libFuzzer builds (debug, so `@testable` reaches the libFM line parser; one product at
/// a time, since only the fuzz executables link libFuzzer):
///
///     swift build --scratch-path .build-fuzz --product FuzzShard -Xswiftc -sanitize=fuzzer,address
///     .build-fuzz/debug/FuzzShard corpus/shard -runs=2000000
///
/// `MutationFuzz` is the same targets driven by the suite's seeded `ByteMutator` (NFMTestSupport), without
/// libFuzzer.
/// SwiftPM names a path dependency after its directory (the checkout's name, e.g. `nfm` or a worktree's).
let nfm = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().lastPathComponent

let fuzzers = ["FuzzShard", "FuzzManifest", "FuzzCheckpoint", "FuzzDefinition", "FuzzLibFM"]

let package = Package(
    name: "nfm-fuzz",
    products: fuzzers.map { .executable(name: $0, targets: [$0]) } + [
        .executable(name: "MutationFuzz", targets: ["MutationFuzz"])
    ],
    dependencies: [.package(path: "..")],
    targets: [
        .target(
            name: "FuzzTargets",
            dependencies: [
                .product(name: "NFMFormat", package: nfm), .product(name: "NFMPipeline", package: nfm),
                .product(name: "NFMModel", package: nfm), .product(name: "NFMTestSupport", package: nfm),
            ]),
        .target(name: "CLibFuzzer"),
        .executableTarget(
            name: "MutationFuzz", dependencies: ["FuzzTargets", .product(name: "NFMTestSupport", package: nfm)]),
    ] + fuzzers.map { .executableTarget(name: $0, dependencies: ["FuzzTargets", "CLibFuzzer"]) }
)
