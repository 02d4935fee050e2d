/// Unaligned SIMD loads and stores on `Float` pointers.
///
/// Every kernel in this module works on raw pointers so that the loops are compiled here and never
/// inlined into a client module: they get AVX2/FMA code when the build passes
/// `-Xswiftc -Xcc -Xswiftc -march=x86-64-v3` (scripts/build-release.sh does, unless `NFM_PORTABLE` is
/// set), baseline x86-64 code otherwise. Multiply-adds are written `a * b + c`: on baseline x86-64
/// `addingProduct` becomes a libm `fmaf` call per lane (see ENGINEERING.md).
typealias V8 = SIMD8<Float>

@inline(__always) func load8(_ p: UnsafePointer<Float>) -> V8 {
    UnsafeRawPointer(p).loadUnaligned(as: V8.self)
}

@inline(__always) func load8(_ p: UnsafeMutablePointer<Float>) -> V8 {
    UnsafeRawPointer(p).loadUnaligned(as: V8.self)
}

@inline(__always) func store8(_ v: V8, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: V8.self)
}
