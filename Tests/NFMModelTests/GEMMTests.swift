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
