/// Unaligned SIMD loads and stores on `Float` pointers.
///
/// Every kernel in this module works on raw pointers so that the loops are compiled here and never
/// inlined into a client module: they get AVX2/FMA code when the build passes
/// `-Xswiftc -Xcc -Xswiftc -march=x86-64-v3` (scripts/build-release.sh does, unless `NFM_PORTABLE` is
/// set; on CPUs with AVX-512 it passes x86-64-v4 and `-D NFM_AVX512`: `FloatLanes`), baseline x86-64 code
/// otherwise. Multiply-adds are written `a * b + c`: on baseline x86-64
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

/// `√v` per lane for `v ≥ 0` (or NaN), as one `vsqrtps`: `SIMD8.squareRoot()` and `Float.squareRoot()`
/// keep libm's errno path (a compare and a possible `sqrtf` call per lane), which the `abs` lets the
/// compiler drop. Both are correctly rounded, so the bits are those of `squareRoot()` for every `v ≥ 0`.
@inline(__always) func sqrt8(_ v: V8) -> V8 {
    var r = V8()
    for i in 0..<8 { r[i] = abs(v[i]).squareRoot() }
    return r
}

/// A vector of `Float` lanes as the kernels' width-generic passes use it: `V8`, and in builds for AVX-512
/// machines `V16` (`scripts/build-release.sh` compiles with `-march=x86-64-v4 -D NFM_AVX512` where the CPU
/// has it; elsewhere a `SIMD16` is two AVX2 registers and the sixteen-wide paths would only add register
/// pressure). A pass written once over `FloatLanes` does, lane by lane, the same operations at either
/// width, so the bits never depend on the build. The requirements are met by the concrete vector types'
/// own operators (one instruction each once specialised).
protocol FloatLanes {
    static var width: Int { get }
    init()
    init(repeating value: Float)
    static func + (lhs: Self, rhs: Self) -> Self
    static func - (lhs: Self, rhs: Self) -> Self
    static func * (lhs: Self, rhs: Self) -> Self
    static func / (lhs: Self, rhs: Self) -> Self
    /// `√v` per lane for `v ≥ 0` (see `sqrt8`).
    var squareRoots: Self { get }
    /// `v > 0 ? v : +0` per lane (ReLU as `activationForward` computes it).
    var positivePart: Self { get }
}

extension FloatLanes {
    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> Self {
        UnsafeRawPointer(p).loadUnaligned(as: Self.self)
    }

    @inline(__always) static func load(_ p: UnsafeMutablePointer<Float>) -> Self {
        UnsafeRawPointer(p).loadUnaligned(as: Self.self)
    }

    @inline(__always) func store(_ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: self, as: Self.self)
    }
}

extension SIMD8: FloatLanes where Scalar == Float {
    static var width: Int { 8 }
    var squareRoots: Self { @inline(__always) get { sqrt8(self) } }
    var positivePart: Self { @inline(__always) get { Self().replacing(with: self, where: self .> 0) } }
}

#if NFM_AVX512
/// Sixteen floats: one AVX-512 register (AVX-512 builds only; see `FloatLanes`).
typealias V16 = SIMD16<Float>

extension SIMD16: FloatLanes where Scalar == Float {
    static var width: Int { 16 }
    /// `sqrt8` on sixteen lanes (one `vsqrtps` on a zmm register).
    var squareRoots: Self {
        @inline(__always) get {
            var r = Self()
            for i in 0..<16 { r[i] = abs(self[i]).squareRoot() }
            return r
        }
    }
    var positivePart: Self { @inline(__always) get { Self().replacing(with: self, where: self .> 0) } }
}
#endif
