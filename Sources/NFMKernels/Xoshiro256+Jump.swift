/// A jump of `Xoshiro256` over a fixed number of draws, so that several threads can draw consecutive
/// pieces of one stream at once (the team step's dropout masks) and still draw exactly its values.
///
/// xoshiro256's state transition (shifts, rotations and exclusive ors) is linear over GF(2): the state
/// `n` draws on is `Mⁿ·s` for a fixed 256 × 256 bit matrix `M`. `init(draws:)` computes the 256 columns
/// of `Mⁿ` (column `b` is the state reached in `n` draws from the state with bit `b` alone set:
/// `O(256·n)`, once), after which `Xoshiro256.jump(_:)` moves any state `n` draws on in `O(256)`: the
/// state `n` calls of `next()` would leave.
public final class XoshiroJump: @unchecked Sendable {
    /// Draws jumped over.
    public let draws: Int
    /// Column `b` of `Mⁿ`: words `(s0, s1, s2, s3)` of the image of state bit `b` (bit `b mod 64` of
    /// word `b / 64`).
    private let columns: UnsafeMutablePointer<SIMD4<UInt64>>

    /// The jump over `draws` (≥ 0) draws. `O(256·draws)`.
    public init(draws: Int) {
        self.draws = max(0, draws)
        columns = .allocate(capacity: 256)
        for bit in 0..<256 {
            var unit = SIMD4<UInt64>()
            unit[bit / 64] = 1 << UInt64(bit % 64)
            var generator = Xoshiro256(state: unit)
            for _ in 0..<self.draws { generator.advance() }
            columns[bit] = generator.state
        }
    }

    deinit { columns.deallocate() }

    /// The matrix as a plain pointer (valid while this jump lives), for threads that must not touch its
    /// reference count.
    public var matrix: Matrix { Matrix(columns: columns) }

    /// `Mⁿ` as 256 columns of four words (see `XoshiroJump`), borrowed from a live jump.
    public struct Matrix {
        let columns: UnsafePointer<SIMD4<UInt64>>

        /// `Mⁿ·s`: the exclusive or of the columns of the bits set in `s` (two accumulators, so that the
        /// exclusive ors of consecutive bits do not wait for each other).
        func image(of s: SIMD4<UInt64>) -> SIMD4<UInt64> {
            var (even, odd) = (SIMD4<UInt64>(), SIMD4<UInt64>())
            for w in 0..<4 {
                let word = s[w]
                let column = columns + 64 * w
                var i = 0
                while i < 64 {
                    even ^= column[i] & SIMD4(repeating: 0 &- (word >> UInt64(i) & 1))
                    odd ^= column[i + 1] & SIMD4(repeating: 0 &- (word >> UInt64(i + 1) & 1))
                    i += 2
                }
            }
            return even ^ odd
        }
    }
}

extension Xoshiro256 {
    /// A generator in the given state `(s0, s1, s2, s3)` (a jump's unit states).
    init(state: SIMD4<UInt64>) {
        (s0, s1, s2, s3) = (state[0], state[1], state[2], state[3])
    }

    /// The state `(s0, s1, s2, s3)`.
    var state: SIMD4<UInt64> { SIMD4(s0, s1, s2, s3) }

    /// The state transition of `next()`, without its output.
    mutating func advance() {
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
    }

    /// Moves the generator `jump.draws` draws on (the state that many `next()` calls leave). `O(256)`.
    public mutating func jump(_ jump: XoshiroJump) { self.jump(jump.matrix) }

    /// `jump(_:)` through the matrix of a live `XoshiroJump`.
    public mutating func jump(_ matrix: XoshiroJump.Matrix) {
        let image = matrix.image(of: state)
        (s0, s1, s2, s3) = (image[0], image[1], image[2], image[3])
    }
}
