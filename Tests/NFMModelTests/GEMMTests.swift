import NFMKernels
import Testing

/// GEMM.swift against naive loops, bit for bit: every element of `C` must be `((c + a₀b₀) + a₁b₁) + …`
/// summed over `p` in order (each product rounded, then added), whatever the shape, stride or path.
@Suite struct GEMMTests {
    /// The ordered reference: `s = c; for q in 0..<p { s = a·b + s }` (product and sum rounded apart).
    static func reference(
        m: Int, n: Int, p: Int, a: (Int, Int) -> Float, b: (Int, Int) -> Float, c: [Float], ldc: Int, accumulate: Bool
    ) -> [Float] {
        var out = c
        for i in 0..<m {
            for j in 0..<n {
                var s: Float = accumulate ? c[i * ldc + j] : 0
                for q in 0..<p {
                    let product = a(i, q) * b(q, j)
                    s = product + s
                }
                out[i * ldc + j] = s
            }
        }
        return out
    }

    static func values(_ count: Int, _ random: inout Xoshiro256) -> [Float] {
        (0..<count).map { _ in Float(random.nextNormal()) }
    }

    static let sizes = [1, 3, 15, 17, 255, 257, 300]

    /// Shapes: every path of `gemm` (the unpacked kernel below 256 × 256 floats of B; the packed one
    /// beyond, or with a transposed A of more than 64 rows) with full and partial 4 × 16 tiles (4 × 32 in
    /// AVX-512 builds: 63 = 32 + 16 + 8 + 7 columns), several depth, row and column blocks, and the edges
    /// 1, 3, 15, 17, 255, 257, 300.
    static let shapes: [(Int, Int, Int)] = [
        (1, 1, 1), (3, 17, 15), (15, 3, 17), (17, 15, 3), (128, 64, 64), (1, 257, 257), (17, 257, 300),
        (3, 300, 257), (257, 15, 255), (300, 17, 3), (255, 257, 1), (65, 300, 17), (257, 3, 300), (15, 255, 300),
        (9, 63, 40), (6, 96, 20),
    ]

    @Test(arguments: shapes)
    func gemmIsTheOrderedSum(shape: (Int, Int, Int)) {
        let (m, n, p) = shape
        var random = Xoshiro256(seed: UInt64(m * 1_000_003 + n * 1_009 + p))
        let b = Self.values(p * n, &random)
        let initial = Self.values(m * n, &random)
        // A row-major with a padded row stride, then A transposed in memory (`Aᵀ·B`, weight gradients).
        for (ars, acs) in [(p + 3, 1), (1, m + 2)] {
            let a = Self.values(max(m * ars, p * acs) + 4, &random)
            for accumulate in [false, true] {
                var c = initial
                a.withUnsafeBufferPointer { a in
                    b.withUnsafeBufferPointer { b in
                        c.withUnsafeMutableBufferPointer { c in
                            gemm(
                                m: m, n: n, p: p, a: a.baseAddress!, aRowStride: ars, aColStride: acs, b: b.baseAddress!,
                                c: c.baseAddress!, accumulate: accumulate)
                        }
                    }
                }
                let expected = Self.reference(
                    m: m, n: n, p: p, a: { a[$0 * ars + $1 * acs] }, b: { b[$0 * n + $1] }, c: initial, ldc: n,
                    accumulate: accumulate)
                let mismatches = zip(c, expected).filter { $0.bitPattern != $1.bitPattern }.count
                #expect(mismatches == 0, "\(shape) strides (\(ars), \(acs)) accumulate=\(accumulate)")
            }
        }
    }

    @Test(arguments: shapes)
    func gemmTransposedBIsTheOrderedSum(shape: (Int, Int, Int)) {
        let (m, n, p) = shape
        var random = Xoshiro256(seed: UInt64(m * 7_919 + n * 104_729 + p))
        // Padded strides: A rows of `p + 1`, B rows of `p + 5`, C rows of `n + 2` (a block of columns).
        let (lda, ldb, ldc) = (p + 1, p + 5, n + 2)
        let a = Self.values(m * lda, &random)
        let bt = Self.values(n * ldb, &random)
        let initial = Self.values(m * ldc, &random)
        for accumulate in [false, true] {
            var c = initial
            a.withUnsafeBufferPointer { a in
                bt.withUnsafeBufferPointer { bt in
                    c.withUnsafeMutableBufferPointer { c in
                        gemmTransposedB(
                            m: m, n: n, p: p, a: a.baseAddress!, aRowStride: lda, b: bt.baseAddress!, bRowStride: ldb,
                            c: c.baseAddress!, cRowStride: ldc, accumulate: accumulate)
                    }
                }
            }
            let expected = Self.reference(
                m: m, n: n, p: p, a: { a[$0 * lda + $1] }, b: { bt[$1 * ldb + $0] }, c: initial, ldc: ldc,
                accumulate: accumulate)
            let mismatches = zip(c, expected).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(mismatches == 0, "\(shape) accumulate=\(accumulate)")
        }
    }

    /// A prepacked `B` (row-major, or read transposed from `W`) multiplied in uneven row blocks.
    @Test(arguments: shapes)
    func prepackedGemmIsTheOrderedSum(shape: (Int, Int, Int)) {
        let (m, n, p) = shape
        var random = Xoshiro256(seed: UInt64(m * 31 + n * 7_777 + p * 3))
        let (lda, ldc) = (p + 2, n + 1)
        let a = Self.values(m * lda, &random)
        let source = Self.values(p * n + 8, &random)
        let initial = Self.values(m * ldc, &random)
        var storage = [Float](repeating: .nan, count: PackedOperand.floatCount(rows: p, columns: n))
        for transposed in [false, true] {
            // Row-major `p × n` (stride n + 0), or `W` of `n` rows of `p` (B(q, j) = W[j·p + q]).
            let stride = transposed ? p : n
            let b: (Int, Int) -> Float = transposed ? { source[$1 * p + $0] } : { source[$0 * n + $1] }
            storage.withUnsafeMutableBufferPointer { storage in
                let packed = PackedOperand(rows: p, columns: n, storage: storage.baseAddress!)
                source.withUnsafeBufferPointer { s in
                    for block in 0..<packed.columnBlocks {
                        packed.pack(columnBlock: block, of: s.baseAddress!, rowStride: stride, transposed: transposed)
                    }
                }
            }
            for accumulate in [false, true] {
                var c = initial
                storage.withUnsafeMutableBufferPointer { storage in
                    let packed = PackedOperand(rows: p, columns: n, storage: storage.baseAddress!)
                    a.withUnsafeBufferPointer { a in
                        c.withUnsafeMutableBufferPointer { c in
                            var i = 0
                            for size in [32, 5, 64, 1].cycled(until: m) where i < m {
                                let rows = min(size, m - i)
                                gemm(
                                    m: rows, a: a.baseAddress! + i * lda, aRowStride: lda, aColStride: 1, packed: packed,
                                    c: c.baseAddress! + i * ldc, cRowStride: ldc, accumulate: accumulate)
                                i += rows
                            }
                        }
                    }
                }
                let expected = Self.reference(
                    m: m, n: n, p: p, a: { a[$0 * lda + $1] }, b: b, c: initial, ldc: ldc, accumulate: accumulate)
                let mismatches = zip(c, expected).filter { $0.bitPattern != $1.bitPattern }.count
                #expect(mismatches == 0, "\(shape) transposed=\(transposed) accumulate=\(accumulate)")
            }
        }
    }

    /// `dZ·Wᵀ` read from `W` in blocks of columns (what a job's tasks would compute) equals the whole product.
    @Test func gemmTransposedBColumnBlocksMatchTheWholeProduct() {
        let (m, n, p) = (32, 300, 257)
        var random = Xoshiro256(seed: 5)
        let a = Self.values(m * p, &random)
        let w = Self.values(n * p, &random)
        var whole = [Float](repeating: 0, count: m * n)
        var blocked = whole
        a.withUnsafeBufferPointer { a in
            w.withUnsafeBufferPointer { w in
                gemmTransposedB(
                    m: m, n: n, p: p, a: a.baseAddress!, aRowStride: p, b: w.baseAddress!, bRowStride: p,
                    c: &whole, cRowStride: n, accumulate: false)
                blocked.withUnsafeMutableBufferPointer { c in
                    for j in stride(from: 0, to: n, by: 37) {
                        gemmTransposedB(
                            m: m, n: min(37, n - j), p: p, a: a.baseAddress!, aRowStride: p, b: w.baseAddress! + j * p,
                            bRowStride: p, c: c.baseAddress! + j, cRowStride: n, accumulate: false)
                    }
                }
            }
        }
        #expect(zip(whole, blocked).allSatisfy { $0.bitPattern == $1.bitPattern })
    }

    @Test func transposeRowsMatchesNaiveTranspose() {
        var random = Xoshiro256(seed: 11)
        for (m, n) in [(1, 1), (3, 17), (17, 3), (16, 8), (40, 1_024), (257, 15), (300, 255), (1_024, 40)] {
            let x = Self.values(m * n, &random)
            var t = [Float](repeating: .nan, count: m * n)
            x.withUnsafeBufferPointer { x in
                t.withUnsafeMutableBufferPointer { t in
                    // Uneven blocks, as a job's tasks cut the rows.
                    var start = 0
                    for size in [5, 32, 16, 100, 7].cycled(until: m) {
                        let end = min(m, start + size)
                        transposeRows(start..<end, columns: n, of: x.baseAddress!, rows: m, into: t.baseAddress!)
                        start = end
                    }
                }
            }
            var whole = [Float](repeating: .nan, count: m * n)
            transpose(rows: m, columns: n, x, into: &whole)
            var mismatches = 0
            for i in 0..<m {
                for j in 0..<n where t[j * m + i].bitPattern != x[i * n + j].bitPattern || whole[j * m + i].bitPattern != x[i * n + j].bitPattern {
                    mismatches += 1
                }
            }
            #expect(mismatches == 0, "\(m)×\(n)")
        }
    }
}

extension Array where Element == Int {
    /// The sizes repeated until their sum reaches `total` (at least one pass).
    fileprivate func cycled(until total: Int) -> [Int] {
        var out: [Int] = []
        var sum = 0
        repeat {
            for s in self {
                out.append(s)
                sum += s
            }
        } while sum < total
        return out
    }
}
