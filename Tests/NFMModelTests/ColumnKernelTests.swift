import NFMKernels
import Testing

@testable import NFMModel

/// The column kernels that sum a batch's rows in registers (`columnSums`, `squaredDeviationSums`,
/// `batchNormParameterGradients`, `weightedColumnSums`) and the row kernels that keep per-column factors in
/// registers (`batchNormApply`, `batchNormInputGradient`) give, bit for bit, the plain loops they replace:
/// each column's sum in row order, each value's expression as written — for widths that leave every
/// column-block tail (32, 16, 8, 1), row strides wider than the width, continued sums (`accumulate`),
/// and values of mixed magnitudes, where any other summation order changes the result.
@Suite struct ColumnKernelTests {
    static let widths = [1, 7, 8, 15, 16, 17, 31, 32, 33, 40, 64, 70]

    /// Values of mixed signs and magnitudes (10⁻³ … 10³).
    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var random = Xoshiro256(seed: seed)
        return (0..<count).map { _ in
            Float(random.nextNormal()) * [0.001, 1, 1000][random.next(below: 3)]
        }
    }

    static func bits(_ x: [Float]) -> [UInt32] { x.map(\.bitPattern) }

    @Test(arguments: widths)
    func reductionsSumEachColumnInRowOrder(width n: Int) {
        let rows = 37
        for stride in [n, n + 3] {
            let x = Self.values(rows * stride, seed: UInt64(n * 100 + stride))
            let h = Self.values(rows * stride, seed: UInt64(n * 100 + stride + 1))
            let w = Self.values(rows, seed: UInt64(n))
            let mean = Self.values(n, seed: 7)
            let start = Self.values(n, seed: 8)
            for accumulate in [false, true] {
                // The reference: plain scalar loops, rows in order, from 0 or from `start`.
                var sums = accumulate ? start : [Float](repeating: 0, count: n)
                var squares = sums, betas = sums, gammas = sums, weighted = sums
                for r in 0..<rows {
                    for j in 0..<n {
                        let v = x[r * stride + j]
                        sums[j] = sums[j] + v
                        let d = v - mean[j]
                        squares[j] = d * d + squares[j]
                        betas[j] = v + betas[j]
                        gammas[j] = v * h[r * stride + j] + gammas[j]
                        weighted[j] = w[r] * v + weighted[j]
                    }
                }
                var (s, q, b, g, o) = (start, start, start, start, start)
                columnSums(rows: rows, width: n, rowStride: stride, x, into: &s, accumulate: accumulate)
                squaredDeviationSums(rows: rows, width: n, rowStride: stride, x, mean: mean, into: &q, accumulate: accumulate)
                batchNormParameterGradients(
                    rows: rows, width: n, rowStride: stride, grad: x, normalized: h, gradGamma: &g, gradBeta: &b,
                    accumulate: accumulate)
                weightedColumnSums(rows: rows, width: n, rowStride: stride, x, weights: w, into: &o, accumulate: accumulate)
                let context = "width \(n) stride \(stride) accumulate \(accumulate)"
                #expect(Self.bits(s) == Self.bits(sums), "columnSums \(context)")
                #expect(Self.bits(q) == Self.bits(squares), "squaredDeviationSums \(context)")
                #expect(Self.bits(b) == Self.bits(betas), "∂β \(context)")
                #expect(Self.bits(g) == Self.bits(gammas), "∂γ \(context)")
                #expect(Self.bits(o) == Self.bits(weighted), "weightedColumnSums \(context)")
            }
        }
    }

    /// The data are such that order matters: summing the rows backwards changes some column of the
    /// widest case (so the test above would catch a kernel that reordered them).
    @Test func theValuesMakeTheOrderVisible() {
        let (rows, n) = (37, 70)
        let x = Self.values(rows * n, seed: UInt64(n * 100 + n))
        var forward = [Float](repeating: 0, count: n), backward = forward
        for r in 0..<rows { for j in 0..<n { forward[j] += x[r * n + j] } }
        for r in (0..<rows).reversed() { for j in 0..<n { backward[j] += x[r * n + j] } }
        #expect(Self.bits(forward) != Self.bits(backward))
    }

    @Test(arguments: widths)
    func rowKernelsComputeEachValueAsWritten(width n: Int) {
        let rows = 21
        let x = Self.values(rows * n, seed: UInt64(n))
        let (gamma, beta, mean) = (Self.values(n, seed: 1), Self.values(n, seed: 2), Self.values(n, seed: 3))
        let invStd = Self.values(n, seed: 4).map { abs($0) + 0.5 }
        let (gradGamma, gradBeta) = (Self.values(n, seed: 5), Self.values(n, seed: 6))
        let batchRows = 50
        let count = Float(batchRows)
        let inverseCount = 1 / count
        var expectedY = x, expectedH = x, expectedG = x
        for r in 0..<rows {
            for j in 0..<n {
                let i = r * n + j
                let h = (x[i] - mean[j]) * invStd[j]
                expectedH[i] = h
                expectedY[i] = h * gamma[j] + beta[j]
                expectedG[i] = gamma[j] * invStd[j] * inverseCount * (count * x[i] - gradBeta[j] - expectedH[i] * gradGamma[j])
            }
        }
        var y = x
        var normalized = [Float](repeating: .nan, count: rows * n)
        batchNormApply(rows: rows, width: n, &y, gamma: gamma, beta: beta, mean: mean, invStd: invStd, normalized: &normalized)
        #expect(Self.bits(y) == Self.bits(expectedY), "batchNormApply width \(n)")
        #expect(Self.bits(normalized) == Self.bits(expectedH), "x̂ width \(n)")
        var g = x
        batchNormInputGradient(
            rows: rows, batchRows: batchRows, width: n, grad: &g, normalized: expectedH, gamma: gamma, invStd: invStd,
            gradGamma: gradGamma, gradBeta: gradBeta)
        #expect(Self.bits(g) == Self.bits(expectedG), "batchNormInputGradient width \(n)")
    }

    /// Batch norm, ReLU (or not) and dropout in one pass (`batchNormApplyActivated`, the team step's
    /// forward) give the bits of the three passes, NaN and signed zeros included.
    @Test(arguments: [8, 16, 24, 64])
    func fusedNormActivationDropoutEqualsThreePasses(width n: Int) {
        let rows = 19
        var x = Self.values(rows * n, seed: UInt64(n) + 40)
        x[3] = .nan
        x[5] = -0.0
        var (gamma, beta, mean) = (Self.values(n, seed: 11), Self.values(n, seed: 12), Self.values(n, seed: 13))
        let invStd = Self.values(n, seed: 14).map { abs($0) + 0.5 }
        // Row 1, column 0 normalises to +0, then γx̂ + β = (−0) + (−0) = −0, which ReLU makes +0.
        (mean[0], gamma[0], beta[0]) = (x[n], -1.5, -0.0)
        var mask = [Float](repeating: 0, count: rows * n)
        var random = Xoshiro256(seed: 15)
        dropoutMask(count: rows * n, keep: 0.7, into: &mask, random: &random)
        for relu in [false, true] {
            for masked in [false, true] {
                var (y, h) = (x, [Float](repeating: .nan, count: rows * n))
                batchNormApply(rows: rows, width: n, &y, gamma: gamma, beta: beta, mean: mean, invStd: invStd, normalized: &h)
                if relu { activationForward(.relu, count: rows * n, &y) }
                var d = [Float](repeating: .nan, count: rows * n)
                if masked { multiply(count: rows * n, y, by: mask, into: &d) }
                var (fy, fh, fd) = (x, [Float](repeating: .nan, count: rows * n), [Float](repeating: .nan, count: rows * n))
                mask.withUnsafeBufferPointer { m in
                    batchNormApplyActivated(
                        rows: rows, width: n, &fy, gamma: gamma, beta: beta, mean: mean, invStd: invStd, normalized: &fh,
                        relu: relu, mask: masked ? m.baseAddress! : nil, dropped: &fd)
                }
                let context = "width \(n) relu \(relu) masked \(masked)"
                #expect(Self.bits(fy) == Self.bits(y), "y \(context)")
                #expect(Self.bits(fh) == Self.bits(h), "x̂ \(context)")
                #expect(Self.bits(fd) == Self.bits(d), "dropped \(context)")
            }
        }
    }
}
