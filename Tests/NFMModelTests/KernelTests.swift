import NFMKernels
import Testing

@Suite struct KernelTests {
    func naive(m: Int, n: Int, p: Int, a: [Float], ars: Int, acs: Int, b: [Float]) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s: Double = 0
                for q in 0..<p { s += Double(a[i * ars + q * acs]) * Double(b[q * n + j]) }
                c[i * n + j] = Float(s)
            }
        }
        return c
    }

    @Test(arguments: [(128, 64, 64), (7, 19, 5), (4, 16, 1), (1, 8, 3), (5, 33, 70), (64, 64, 128)])
    func gemmMatchesNaiveProduct(shape: (Int, Int, Int)) {
        let (m, n, p) = shape
        var random = Xoshiro256(seed: UInt64(m * 1000 + n * 10 + p))
        let a = (0..<(m * p)).map { _ in Float(random.nextNormal()) }
        let b = (0..<(p * n)).map { _ in Float(random.nextNormal()) }
        let initial = (0..<(m * n)).map { _ in Float(random.nextNormal()) }
        // A·B, A row-major m × p.
        var c = initial
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    gemm(m: m, n: n, p: p, a: a.baseAddress!, aRowStride: p, aColStride: 1, b: b.baseAddress!, c: c.baseAddress!, accumulate: false)
                }
            }
        }
        let expected = naive(m: m, n: n, p: p, a: a, ars: p, acs: 1, b: b)
        for i in 0..<(m * n) { #expect(abs(c[i] - expected[i]) <= 1e-4 * Float(p)) }
        // Aᵀ·B with A stored p × m, accumulating onto `initial`.
        c = initial
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    gemm(m: m, n: n, p: p, a: a.baseAddress!, aRowStride: 1, aColStride: m, b: b.baseAddress!, c: c.baseAddress!, accumulate: true)
                }
            }
        }
        let transposed = naive(m: m, n: n, p: p, a: a, ars: 1, acs: m, b: b)
        for i in 0..<(m * n) { #expect(abs(c[i] - (initial[i] + transposed[i])) <= 1e-4 * Float(p)) }
    }

    @Test func dropoutMaskKeepsTheRequestedShareAndScales() {
        var random = Xoshiro256(seed: 9)
        var mask = [Float](repeating: -1, count: 100_003)
        mask.withUnsafeMutableBufferPointer { dropoutMask(count: $0.count, keep: 0.8, into: $0.baseAddress!, random: &random) }
        let kept = mask.filter { $0 != 0 }
        #expect(Set(kept).count == 1)
        #expect(abs(kept[0] - 1.25) < 1e-4)
        #expect(abs(Double(kept.count) / Double(mask.count) - 0.8) < 0.01)
        // Inverted dropout keeps the expectation: mean of the mask ≈ 1.
        #expect(abs(mask.reduce(0, +) / Float(mask.count) - 1) < 0.02)
    }

    @Test func xoshiroIsSeededAndUniform() {
        var a = Xoshiro256(seed: 42)
        var b = Xoshiro256(seed: 42)
        var c = Xoshiro256(seed: 43)
        let xs = (0..<5).map { _ in a.next() }
        #expect(xs == (0..<5).map { _ in b.next() })
        #expect(xs != (0..<5).map { _ in c.next() })
        var sum = 0.0, squares = 0.0
        for _ in 0..<50_000 {
            let z = a.nextNormal()
            sum += z
            squares += z * z
        }
        #expect(abs(sum / 50_000) < 0.02)
        #expect(abs(squares / 50_000 - 1) < 0.03)
    }
}
