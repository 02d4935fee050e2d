/// `out[n×m] = inᵀ` for a row-major `m × n` matrix.
public func transpose(rows m: Int, columns n: Int, _ input: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
    transposeRows(0..<m, columns: n, of: input, rows: m, into: out)
}

/// Rows `block` of `transpose`: `out[j·m + i] = input[i·n + j]` for `i` in `block`, every column `j`
/// (a job writes `Wᵀ` in blocks of rows this way). Tiles of 16 rows × 8 columns are transposed in
/// registers (`transpose8x8`, twice) and stored as eight 64-byte runs, so that each output cache line is
/// written whole even when `m` floats are 4 KiB (stores at that stride share one L1 set); eight-row
/// tiles and single rows finish the block. `O(|block|·n)`.
public func transposeRows(
    _ block: Range<Int>, columns n: Int, of input: UnsafePointer<Float>, rows m: Int,
    into out: UnsafeMutablePointer<Float>
) {
    var i = block.lowerBound
    while i + 16 <= block.upperBound {
        transposeTile(rows: i, count: 16, columns: n, of: input, rows: m, into: out)
        i += 16
    }
    if i + 8 <= block.upperBound {
        transposeTile(rows: i, count: 8, columns: n, of: input, rows: m, into: out)
        i += 8
    }
    while i < block.upperBound {
        let row = input + i * n
        var o = out + i
        for j in 0..<n {
            o.pointee = row[j]
            o += m
        }
        i += 1
    }
}

/// Rows `i..<i + count` (`count` 8 or 16) of `transposeRows`: 8 columns at a time through registers,
/// the last `n mod 8` columns one by one.
@inline(__always)
private func transposeTile(
    rows i: Int, count: Int, columns n: Int, of input: UnsafePointer<Float>, rows m: Int,
    into out: UnsafeMutablePointer<Float>
) {
    var j = 0
    while j + 8 <= n {
        var h = 0
        while h < count {
            let t = transpose8x8(input + (i + h) * n + j, stride: n)
            let o = out + j * m + i + h
            store8(t.0, o); store8(t.1, o + m); store8(t.2, o + 2 * m); store8(t.3, o + 3 * m)
            store8(t.4, o + 4 * m); store8(t.5, o + 5 * m); store8(t.6, o + 6 * m); store8(t.7, o + 7 * m)
            h += 8
        }
        j += 8
    }
    while j < n {
        for h in 0..<count { out[j * m + i + h] = input[(i + h) * n + j] }
        j += 1
    }
}

/// The eight columns of the 8 × 8 block at `x` (rows `stride` floats apart): column `c` is
/// `(x[c], x[stride + c], …, x[7·stride + c])`. Three rounds of even/odd de-interleaving of row pairs
/// (`vshufps`/`vpermpd` pairs on AVX2), each moving one bit of the row index into the lane index.
@inline(__always)
func transpose8x8(_ x: UnsafePointer<Float>, stride: Int) -> (V8, V8, V8, V8, V8, V8, V8, V8) {
    let (a0, a1) = deinterleave(load8(x), load8(x + stride))
    let (a2, a3) = deinterleave(load8(x + 2 * stride), load8(x + 3 * stride))
    let (a4, a5) = deinterleave(load8(x + 4 * stride), load8(x + 5 * stride))
    let (a6, a7) = deinterleave(load8(x + 6 * stride), load8(x + 7 * stride))
    let (b0, b1) = deinterleave(a0, a2)
    let (b2, b3) = deinterleave(a1, a3)
    let (b4, b5) = deinterleave(a4, a6)
    let (b6, b7) = deinterleave(a5, a7)
    let (c0, c4) = deinterleave(b0, b4)
    let (c2, c6) = deinterleave(b1, b5)
    let (c1, c5) = deinterleave(b2, b6)
    let (c3, c7) = deinterleave(b3, b7)
    return (c0, c1, c2, c3, c4, c5, c6, c7)
}

/// `(x‖y)`'s even and odd elements: `(x₀, x₂, x₄, x₆, y₀, y₂, y₄, y₆)` and `(x₁, x₃, …, y₇)`.
@inline(__always)
private func deinterleave(_ x: V8, _ y: V8) -> (V8, V8) {
    let z = SIMD16(lowHalf: x, highHalf: y)
    return (z.evenHalf, z.oddHalf)
}
