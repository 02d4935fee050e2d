// swift-tools-version: 6.2
import PackageDescription

/// Benchmarks of nfm, kept out of the library products (as swift-nio keeps its benchmarks): a nested
/// package that depends on the parent by path. See README.md.
let package = Package(
    name: "nfm-benchmarks",
    dependencies: [.package(name: "nfm", path: "../")],
    targets: [
        .executableTarget(
            name: "KernelBenchmarks",
            dependencies: [
                .product(name: "NFMModel", package: "nfm"),
                .product(name: "NFMKernels", package: "nfm"),
            ])
    ]
)
