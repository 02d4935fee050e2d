// swift-tools-version: 6.2
import PackageDescription

let package = Package(
    name: "nfm",
    products: [
        .executable(name: "nfm", targets: ["nfm"]),
        .library(name: "NFMFormat", targets: ["NFMFormat"]),
        .library(name: "NFMPipeline", targets: ["NFMPipeline"]),
        .library(name: "NFMKernels", targets: ["NFMKernels"]),
        .library(name: "NFMModel", targets: ["NFMModel"]),
        .library(name: "NFMExperiments", targets: ["NFMExperiments"]),
        // Test helpers (fixtures, `ByteMutator`), a product only so that the nested Fuzz/ package shares them.
        .library(name: "NFMTestSupport", targets: ["NFMTestSupport"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CZstd", pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"]), .brew(["zstd"])]),
        .systemLibrary(
            name: "CCrypto", pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"]), .brew(["openssl"])]),
        .systemLibrary(
            name: "CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"]), .brew(["zlib"])]),
        // A header-only prefetch hint (`CacheHint`): no library to link.
        .systemLibrary(name: "CCacheHint"),
        .target(name: "NFMFormat", dependencies: ["CZstd", "CCrypto", "CZlib", "CCacheHint"]),
        // One SplitMix64 and one table of random streams, for the builder and the trainer alike.
        .target(name: "NFMRandom"),
        .target(name: "NFMPipeline", dependencies: ["NFMFormat", "NFMRandom"]),
        // Release builds get AVX2/FMA code from the build scripts (`-Xswiftc -Xcc -Xswiftc -march=x86-64-v3`),
        // never from a flag here that would reach every package depending on nfm (ENGINEERING.md).
        .target(
            name: "NFMKernels",
            dependencies: ["NFMRandom", "CCacheHint", .product(name: "RealModule", package: "swift-numerics")]),
        .target(name: "NFMModel", dependencies: ["NFMFormat", "NFMPipeline", "NFMKernels"]),
        .target(name: "NFMExperiments", dependencies: ["NFMFormat", "NFMModel"]),
        .executableTarget(
            name: "nfm",
            dependencies: [
                "NFMFormat", "NFMPipeline", "NFMModel", "NFMExperiments",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .target(name: "NFMTestSupport", dependencies: ["NFMFormat", "NFMPipeline"]),
        .testTarget(name: "NFMFormatTests", dependencies: ["NFMFormat", "NFMTestSupport", "CZlib"]),
        .testTarget(name: "NFMPipelineTests", dependencies: ["NFMPipeline", "NFMTestSupport"]),
        .testTarget(name: "NFMExperimentsTests", dependencies: ["NFMExperiments", "NFMModel", "NFMTestSupport"]),
        .testTarget(name: "NFMCLITests", dependencies: ["nfm", "NFMFormat", "NFMTestSupport"]),
        .testTarget(
            name: "NFMModelTests", dependencies: ["NFMModel", "NFMKernels", "NFMRandom", "NFMTestSupport"]),
    ]
)
