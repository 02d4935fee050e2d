// swift-tools-version: 6.2
import PackageDescription

/// Opt-in AVX2/FMA code generation for the kernels target only (see ENGINEERING.md).
/// `NFM_PORTABLE=1 swift build` builds for baseline x86-64 / any arm64.
let kernelFlags: [SwiftSetting] = {
    #if arch(x86_64)
    if Context.environment["NFM_PORTABLE"] == nil {
        return [.unsafeFlags(["-Xcc", "-march=x86-64-v3"])]
    }
    #endif
    return []
}()

let package = Package(
    name: "nfm",
    products: [
        .executable(name: "nfm", targets: ["nfm"]),
        .library(name: "NFMFormat", targets: ["NFMFormat"]),
        .library(name: "NFMPipeline", targets: ["NFMPipeline"]),
        .library(name: "NFMModel", targets: ["NFMModel"]),
        .library(name: "NFMExperiments", targets: ["NFMExperiments"]),
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
        .target(name: "NFMFormat", dependencies: ["CZstd", "CCrypto"]),
        // The builder's per-row loops pay run-time exclusivity checks on captured state: without this flag
        // a Frappe build executes 2.38 G instead of 1.39 G instructions (callgrind, BENCHMARKS.md).
        .target(
            name: "NFMPipeline", dependencies: ["NFMFormat"],
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"])]),
        .target(
            name: "NFMKernels",
            dependencies: [.product(name: "RealModule", package: "swift-numerics")],
            swiftSettings: kernelFlags),
        .target(name: "NFMModel", dependencies: ["NFMFormat", "NFMPipeline", "NFMKernels"]),
        .target(name: "NFMExperiments", dependencies: ["NFMFormat", "NFMModel"]),
        .executableTarget(
            name: "nfm",
            dependencies: [
                "NFMFormat", "NFMPipeline", "NFMModel", "NFMExperiments",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .target(name: "NFMTestSupport", dependencies: ["NFMFormat", "NFMPipeline"]),
        .testTarget(name: "NFMFormatTests", dependencies: ["NFMFormat", "NFMTestSupport"]),
        .testTarget(name: "NFMPipelineTests", dependencies: ["NFMPipeline", "NFMTestSupport"]),
        .testTarget(name: "NFMExperimentsTests", dependencies: ["NFMExperiments", "NFMModel", "NFMTestSupport"]),
        .testTarget(name: "NFMCLITests", dependencies: ["nfm", "NFMFormat", "NFMTestSupport"]),
        .testTarget(
            name: "NFMModelTests", dependencies: ["NFMModel", "NFMKernels", "NFMTestSupport"]),
    ]
)
