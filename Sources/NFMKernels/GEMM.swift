/// Single-precision matrix multiply: NFM's small, hot shapes (batch × 64 · 64 × 64) and the baselines'
/// large layers.
///
/// `C[m×n] (+)= Σₚ A(i, p) · B[p, j]` where `A(i, p) = a[i·aRowStride + p·aColStride]` (so the same
/// kernel serves `A·B` with `(p, 1)` strides and `Aᵀ·B` with `(1, m)` strides), `B` is row-major
/// `p × n` and `C` row-major `m × n`. Register blocking is 4 rows × 16 columns (eight SIMD8
/// accumulators; 4 × 32 in eight SIMD16 ones in AVX-512 builds); up to 256 × 256 floats of B (and a
/// transposed A of at most 64 rows) B is read in place with 4 × 8, 1 × 16, 1 × 8 and scalar edges,
/// beyond that through `gemmPacked`. Every element is
/// `((c + a₀b₀) + a₁b₁) + …` over `p` in order, each product rounded before its sum (no FMA), so the
/// bits depend on nothing but the operands. `O(mnp)`.
public func gemm(
    m: Int, n: Int, p: Int,
    a: UnsafePointer<Float>, aRowStride: Int, aColStride: Int,
    b: UnsafePointer<Float>,
    c: UnsafeMutablePointer<Float>, accumulate: Bool
) {
    // Small problems (NFM's 64-wide layers): B stays in L1/L2 across the row blocks.
    let stridedA = aColStride != 1 && m > 64
    if p * n <= gemmBlockFloats && !stridedA {
        gemmKernel(
            m: m, n: n, p: p, a: a, aRowStride: aRowStride, aColStride: aColStride, b: b, ldb: n, c: c, ldc: n,
            accumulate: accumulate)
        return
    }
    gemmPacked(
        m: m, n: n, p: p, a: a, aRowStride: aRowStride, aColStride: aColStride,
        b: PackSourceB(base: b, rowStride: n, transposed: false), c: c, ldc: n, accumulate: accumulate)
}

/// `C (+)= A·Bᵀ` for a row-major `B` of `n` rows: `C[i·cRowStride + j] (+)= Σ_q a[i·aRowStride + q] ·
/// b[j·bRowStride + q]`, summed over `q` in order. With `b` a dense layer's weights `W` (`inputs ×
/// outputs`, row-major) and `a` the gradient `dZ` (`rows × outputs`) this is `∂L/∂a = dZ·Wᵀ` (`n` =
/// inputs, `p` = outputs, `bRowStride` = outputs) without writing `Wᵀ`: each block of `B` is transposed
/// while it is packed (`transpose8x8`). The strides let a caller compute a block of columns of `C`
/// (`b + j₀·bRowStride`, `c + j₀`). Same bits as `gemm` on the transposed matrix. `O(mnp)`.
public func gemmTransposedB(
    m: Int, n: Int, p: Int,
    a: UnsafePointer<Float>, aRowStride: Int,
    b: UnsafePointer<Float>, bRowStride: Int,
    c: UnsafeMutablePointer<Float>, cRowStride: Int, accumulate: Bool
) {
    guard m > 0, n > 0 else { return }
    gemmPacked(
        m: m, n: n, p: p, a: a, aRowStride: aRowStride, aColStride: 1,
        b: PackSourceB(base: b, rowStride: bRowStride, transposed: true), c: c, ldc: cRowStride, accumulate: accumulate)
}

/// The right operand `B` (`rows × columns`) of many products, packed once in the layout the large-product
/// kernel reads (blocks of 256 rows × 256 columns, each as zero-padded 16-column strips), e.g. a dense
/// layer's `W` for the row blocks of one training step's forward pass, or `W` read transposed for its
/// `∂L/∂a = dZ·Wᵀ`, instead of packing it again in every `gemm` call (and instead of writing `Wᵀ`).
/// The caller owns `storage` (`floatCount(rows:columns:)` floats), fills it with `pack(columnBlock:…)`
/// for every block in `0..<columnBlocks` (independent: one pool task each), then multiplies with
/// `gemm(m:a:aRowStride:aColStride:packed:c:cRowStride:accumulate:)`.
public struct PackedOperand: @unchecked Sendable {
    /// Rows of B (the depth `p` of the products).
    public let rows: Int
    /// Columns of B (the width `n` of the products).
    public let columns: Int
    /// The packed floats: `floatCount(rows: rows, columns: columns)` of them.
    public let storage: UnsafeMutablePointer<Float>

    /// Wraps caller-owned storage of at least `floatCount(rows:columns:)` floats.
    public init(rows: Int, columns: Int, storage: UnsafeMutablePointer<Float>) {
        (self.rows, self.columns, self.storage) = (rows, columns, storage)
    }

    /// Floats of the packed layout: `rows · ⌈columns / 16⌉ · 16`.
    public static func floatCount(rows: Int, columns: Int) -> Int { rows * ((columns + 15) / 16 * 16) }

    /// Independent packing tasks: blocks of 256 columns, `⌈columns / 256⌉`.
    public var columnBlocks: Int { (columns + gemmColumnBlock - 1) / gemmColumnBlock }

    /// Where the block of columns from `column` and rows from `depth` starts (both multiples of 256).
    static func offset(column: Int, depth: Int, columns: Int, rows: Int) -> Int {
        let width = min(gemmColumnBlock, columns - column)
        return column * rows + depth * ((width + 15) / 16 * 16)
    }

    /// Packs columns `256·block ..< min(256·block + 256, columns)` of `B(q, j) = source[q·rowStride + j]`,
    /// or of `B(q, j) = source[j·rowStride + q]` when `transposed` (e.g. `B = Wᵀ` read from `W`).
    /// `O(rows · 256)`.
    public func pack(columnBlock block: Int, of source: UnsafePointer<Float>, rowStride: Int, transposed: Bool) {
        let jc = block * gemmColumnBlock
        let nb = min(gemmColumnBlock, columns - jc)
        let b = PackSourceB(base: source, rowStride: rowStride, transposed: transposed)
        var pc = 0
        while pc < rows {
            let pb = min(gemmDepthBlock, rows - pc)
            packBlockB(
                b, rows: pc..<(pc + pb), columns: jc..<(jc + nb),
                into: storage + Self.offset(column: jc, depth: pc, columns: columns, rows: rows))
            pc += pb
        }
    }
}

/// `C (+)= A·B` with `B` prepacked (`packed.rows` = `p`, `packed.columns` = `n`): `C[i·cRowStride + j]
/// (+)= Σ_q A(i, q)·B(q, j)`, `A(i, q) = a[i·aRowStride + q·aColStride]`, summed over `q` in order — the
/// bits of `gemm`. For the row blocks of a product whose `B` is shared (a layer's weights), so that `B` is
/// packed once per step. `O(mnp)`.
public func gemm(
    m: Int, a: UnsafePointer<Float>, aRowStride: Int, aColStride: Int, packed: PackedOperand,
    c: UnsafeMutablePointer<Float>, cRowStride: Int, accumulate: Bool
) {
    guard m > 0, packed.columns > 0 else { return }
    gemmPacked(
        m: m, n: packed.columns, p: packed.rows, a: a, aRowStride: aRowStride, aColStride: aColStride,
        b: PackSourceB(base: packed.storage, rowStride: 0, transposed: false), prepacked: packed.storage, c: c,
        ldc: cRowStride, accumulate: accumulate)
}

/// Where the packed driver reads `B(q, j)`: `base[q·rowStride + j]`, or `base[j·rowStride + q]` when
/// `transposed`.
struct PackSourceB {
    let base: UnsafePointer<Float>
    let rowStride: Int
    let transposed: Bool
}

/// Large products (Wide&Deep's 1280 × 1024 layer, DeepCross's residual units), in the usual packed
/// layout: `B` in blocks of `gemmDepthBlock` rows × `gemmColumnBlock` columns copied to contiguous
/// 16-column strips (a strip of a row-major `B` with a 4 KiB row stride would map to a handful of cache
/// sets), `A` in blocks of `gemmRowBlock` rows copied to 4-row panels (`A(i, q)` of rows `4t…4t+3` side
/// by side per `q`), so that the 4 × 16 register kernel reads both operands sequentially from L1/L2.
/// Partial edge tiles are zero-padded and computed in a 4 × 16 scratch tile (their padding lanes are
/// dropped). Each element of `C` still sums its products over `p` in order (partial sums are stored
/// and reloaded between depth blocks), so the bits are those of the unblocked loop.
private func gemmPacked(
    m: Int, n: Int, p: Int, a: UnsafePointer<Float>, aRowStride: Int, aColStride: Int, b: PackSourceB,
    prepacked: UnsafePointer<Float>? = nil, c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
) {
    let packedB = UnsafeMutablePointer<Float>.allocate(capacity: prepacked == nil ? gemmDepthBlock * gemmColumnBlock : 0)
    let packA = aColStride != 1
    let packedA = UnsafeMutablePointer<Float>.allocate(capacity: packA ? gemmRowBlock * gemmDepthBlock : 0)
    defer {
        packedB.deallocate()
        packedA.deallocate()
    }
    if p == 0 {
        if !accumulate { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
        return
    }
    var jc = 0
    while jc < n {
        let nb = min(gemmColumnBlock, n - jc)
        var pc = 0
        while pc < p {
            let pb = min(gemmDepthBlock, p - pc)
            var block = UnsafePointer(packedB)
            if let prepacked {
                block = prepacked + PackedOperand.offset(column: jc, depth: pc, columns: n, rows: p)
            } else {
                packBlockB(b, rows: pc..<(pc + pb), columns: jc..<(jc + nb), into: packedB)
            }
            var ic = 0
            while ic < m {
                let mb = min(gemmRowBlock, m - ic)
                var panels = PanelsA(
                    base: a + ic * aRowStride + pc * aColStride, panelStride: 4 * aRowStride, rowStride: aRowStride,
                    colStride: aColStride)
                if packA {
                    packPanelsA(
                        panels.base, rowStride: aRowStride, colStride: aColStride, rows: mb, depth: pb, into: packedA)
                    panels = PanelsA(base: packedA, panelStride: 4 * pb, rowStride: 1, colStride: 4)
                }
                multiplyPackedBlock(
                    rows: mb, columns: nb, depth: pb, a: panels, b: block, c: c + ic * ldc + jc, ldc: ldc,
                    accumulate: accumulate || pc > 0)
                ic += mb
            }
            pc += pb
        }
        jc += nb
    }
}

/// Rows of A as the register kernel reads them: panel `t` (rows `4t…4t+3`) at `base + t·panelStride`,
/// element `(r, q)` of a panel at `r·rowStride + q·colStride` — packed panels (`1`, `4`) or A in place.
struct PanelsA {
    let base: UnsafePointer<Float>
    let panelStride: Int
    let rowStride: Int
    let colStride: Int
}

/// `C (+)= A·B` for one block (`rows × depth` of A, `depth × columns` packed strips of B): every strip
/// of B (16 KiB, kept in L1) against every 4-row panel of A.
@inline(__always)
private func multiplyPackedBlock(
    rows: Int, columns: Int, depth: Int, a: PanelsA, b: UnsafePointer<Float>,
    c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
) {
    let strips = (columns + 15) / 16
    let panels = (rows + 3) / 4
    var first = 0
    #if NFM_AVX512
    // AVX-512 builds: two full strips at a time (`kernelFourRows` at width 16, 32 KiB of B in L1).
    while 16 * (first + 2) <= columns {
        let strip = b + first * depth * 16
        for t in 0..<panels {
            let height = min(4, rows - 4 * t)
            let tile = c + 4 * t * ldc + 16 * first
            let panel = a.base + t * a.panelStride
            if height == 4 {
                kernelFourRows(
                    V16.self, depth: depth, a: panel, aRowStride: a.rowStride, aColStride: a.colStride, b: strip,
                    ldb: 16, secondHalf: depth * 16, c: tile, ldc: ldc, accumulate: accumulate)
            } else {
                for half in 0..<2 {
                    packedEdgeTile(
                        height: height, width: 16, depth: depth, a: panel, aRowStride: a.rowStride,
                        aColStride: a.colStride, b: strip + half * depth * 16, c: tile + 16 * half, ldc: ldc,
                        accumulate: accumulate)
                }
            }
        }
        first += 2
    }
    #endif
    for s in first..<strips {
        let width = min(16, columns - 16 * s)
        let strip = b + s * depth * 16
        for t in 0..<panels {
            let height = min(4, rows - 4 * t)
            let tile = c + 4 * t * ldc + 16 * s
            let panel = a.base + t * a.panelStride
            if width == 16 && height == 4 {
                kernelFourBySixteen(
                    depth: depth, a: panel, aRowStride: a.rowStride, aColStride: a.colStride, b: strip, c: tile,
                    ldc: ldc, accumulate: accumulate)
            } else {
                packedEdgeTile(
                    height: height, width: width, depth: depth, a: panel, aRowStride: a.rowStride,
                    aColStride: a.colStride, b: strip, c: tile, ldc: ldc, accumulate: accumulate)
            }
        }
    }
}

/// A partial tile (`height` < 4 or `width` < 16) through `packedKernel` on a zeroed 4 × 16 scratch tile,
/// its rows of A copied to a zero-padded panel: the lanes kept are computed exactly as in a full tile.
@inline(never)
private func packedEdgeTile(
    height: Int, width: Int, depth: Int, a: UnsafePointer<Float>, aRowStride: Int, aColStride: Int,
    b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
) {
    let panel = UnsafeMutablePointer<Float>.allocate(capacity: 4 * depth)
    defer { panel.deallocate() }
    packPanelsA(a, rowStride: aRowStride, colStride: aColStride, rows: height, depth: depth, into: panel)
    var scratch = (V8(), V8(), V8(), V8(), V8(), V8(), V8(), V8())
    withUnsafeMutableBytes(of: &scratch) { raw in
        let tile = raw.baseAddress!.assumingMemoryBound(to: Float.self)
        if accumulate {
            for r in 0..<height { (tile + r * 16).update(from: c + r * ldc, count: width) }
        }
        kernelFourBySixteen(
            depth: depth, a: panel, aRowStride: 1, aColStride: 4, b: b, c: tile, ldc: 16, accumulate: accumulate)
        for r in 0..<height { (c + r * ldc).update(from: tile + r * 16, count: width) }
    }
}

/// The register kernel: a 4 × 16 tile of C in eight SIMD8 accumulators (`kernelFourRows` at width 8).
@inline(__always)
private func kernelFourBySixteen(
    depth: Int, a: UnsafePointer<Float>, aRowStride ars: Int, aColStride acs: Int, b: UnsafePointer<Float>,
    ldb: Int = 16, c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
) {
    kernelFourRows(
        V8.self, depth: depth, a: a, aRowStride: ars, aColStride: acs, b: b, ldb: ldb, secondHalf: 8, c: c, ldc: ldc,
        accumulate: accumulate)
}

/// A 4 × 2w tile of C in eight accumulators of `w` lanes (`Lanes.width`: 4 × 16 with `V8`, 4 × 32 with
/// `V16` in AVX-512 builds — eight independent sums keep both vector adders busy through their latency),
/// `depth` steps of `x = a·b + x` (a product, then a sum, as everywhere in this file). B's first `w`
/// values of a step are consecutive, its next `w` start `secondHalf` floats after them (`w` in a row-major
/// B; a strip's size between two packed strips), its steps `ldb` apart (16 in a packed strip); A's four
/// values at `aRowStride` apart. Each element is summed over `q` in order, so the bits do not depend on
/// the width.
@inline(__always)
private func kernelFourRows<Lanes: FloatLanes>(
    _: Lanes.Type, depth: Int, a: UnsafePointer<Float>, aRowStride ars: Int, aColStride acs: Int,
    b: UnsafePointer<Float>, ldb: Int, secondHalf: Int, c c0: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
) {
    let w = Lanes.width
    let c1 = c0 + ldc
    let c2 = c1 + ldc
    let c3 = c2 + ldc
    var x0 = Lanes(), y0 = Lanes(), x1 = Lanes(), y1 = Lanes()
    var x2 = Lanes(), y2 = Lanes(), x3 = Lanes(), y3 = Lanes()
    if accumulate {
        x0 = .load(c0); y0 = .load(c0 + w)
        x1 = .load(c1); y1 = .load(c1 + w)
        x2 = .load(c2); y2 = .load(c2 + w)
        x3 = .load(c3); y3 = .load(c3 + w)
    }
    var ap = a
    var bp = b
    var q = 0
    while q < depth {
        let b0 = Lanes.load(bp)
        let b1 = Lanes.load(bp + secondHalf)
        let s0 = Lanes(repeating: ap[0])
        let s1 = Lanes(repeating: ap[ars])
        let s2 = Lanes(repeating: ap[ars &* 2])
        let s3 = Lanes(repeating: ap[ars &* 3])
        x0 = s0 * b0 + x0; y0 = s0 * b1 + y0
        x1 = s1 * b0 + x1; y1 = s1 * b1 + y1
        x2 = s2 * b0 + x2; y2 = s2 * b1 + y2
        x3 = s3 * b0 + x3; y3 = s3 * b1 + y3
        ap += acs
        bp += ldb
        q &+= 1
    }
    x0.store(c0); y0.store(c0 + w)
    x1.store(c1); y1.store(c1 + w)
    x2.store(c2); y2.store(c2 + w)
    x3.store(c3); y3.store(c3 + w)
}

/// Copies `B(q, j)` for `q` in `rows`, `j` in `columns` to 16-column strips, strip after strip, each
/// row-major `rows.count × 16`; a last strip narrower than 16 is padded with zeros. A transposed source
/// goes through 8 × 8 register transposes (`transpose8x8`).
private func packBlockB(
    _ b: PackSourceB, rows: Range<Int>, columns: Range<Int>, into out: UnsafeMutablePointer<Float>
) {
    let depth = rows.count
    if !b.transposed {
        packRowMajorBlock(
            b.base + rows.lowerBound * b.rowStride + columns.lowerBound, rowStride: b.rowStride, depth: depth,
            width: columns.count, into: out)
        return
    }
    var j = columns.lowerBound
    var strip = out
    while j < columns.upperBound {
        let width = min(16, columns.upperBound - j)
        packStripTransposed(b.base + j * b.rowStride + rows.lowerBound, rowStride: b.rowStride, width: width, depth: depth, into: strip)
        strip += depth * 16
        j += width
    }
}

/// `depth` rows of `width` floats (row stride `rowStride`) to zero-padded 16-column strips of `depth`
/// rows each, strip after strip (measured faster than row by row).
@inline(__always)
private func packRowMajorBlock(
    _ source: UnsafePointer<Float>, rowStride: Int, depth: Int, width: Int, into out: UnsafeMutablePointer<Float>
) {
    let full = width / 16
    for s in 0..<full {
        let strip = out + s * depth * 16
        for q in 0..<depth {
            let row = source + q * rowStride + 16 * s
            store8(load8(row), strip + q * 16)
            store8(load8(row + 8), strip + q * 16 + 8)
        }
    }
    if full * 16 < width {
        let (strip, rest) = (out + full * depth * 16, width - full * 16)
        for q in 0..<depth {
            let row = source + q * rowStride + full * 16
            for t in 0..<16 { strip[q * 16 + t] = t < rest ? row[t] : 0 }
        }
    }
}

/// One strip of a transposed B: `out[q·16 + t] = source[t·rowStride + q]` for `t < width`, zero beyond;
/// 16 × 16 chunks (four register transposes) read whole 64-byte lines of the 16 source rows.
@inline(__always)
private func packStripTransposed(
    _ source: UnsafePointer<Float>, rowStride: Int, width: Int, depth: Int, into out: UnsafeMutablePointer<Float>
) {
    var q = 0
    if width == 16 {
        while q + 8 <= depth {
            let group = q + 16 <= depth ? 16 : 8
            for half in 0..<2 {
                var g = 0
                while g < group {
                    let t = transpose8x8(source + half * 8 * rowStride + q + g, stride: rowStride)
                    let o = out + (q + g) * 16 + half * 8
                    store8(t.0, o); store8(t.1, o + 16); store8(t.2, o + 32); store8(t.3, o + 48)
                    store8(t.4, o + 64); store8(t.5, o + 80); store8(t.6, o + 96); store8(t.7, o + 112)
                    g += 8
                }
            }
            q += group
        }
    }
    while q < depth {
        for t in 0..<16 { out[q * 16 + t] = t < width ? source[t * rowStride + q] : 0 }
        q += 1
    }
}

/// Copies a `rows × depth` block of A (element `(i, q)` at `i·rowStride + q·colStride`) to 4-row
/// panels: `out[t·depth·4 + q·4 + r] = A(4t + r, q)`, rows past `rows` zero.
@inline(__always)
private func packPanelsA(
    _ a: UnsafePointer<Float>, rowStride: Int, colStride: Int, rows: Int, depth: Int,
    into out: UnsafeMutablePointer<Float>
) {
    var i = 0
    var panel = out
    while i < rows {
        let height = min(4, rows - i)
        let base = a + i * rowStride
        if height == 4 && rowStride == 1 {
            for q in 0..<depth {
                let column = base + q * colStride
                panel[4 * q] = column[0]; panel[4 * q + 1] = column[1]
                panel[4 * q + 2] = column[2]; panel[4 * q + 3] = column[3]
            }
        } else if height == 4 {
            let (r0, r1, r2, r3) = (base, base + rowStride, base + 2 * rowStride, base + 3 * rowStride)
            for q in 0..<depth {
                let k = q * colStride
                panel[4 * q] = r0[k]; panel[4 * q + 1] = r1[k]; panel[4 * q + 2] = r2[k]; panel[4 * q + 3] = r3[k]
            }
        } else {
            for q in 0..<depth {
                for r in 0..<4 { panel[4 * q + r] = r < height ? base[r * rowStride + q * colStride] : 0 }
            }
        }
        panel += 4 * depth
        i += height
    }
}

/// Blocking of large products: B blocks of at most 256 × 256 floats (256 KiB, within a 1 MiB L2), A
/// blocks of 64 rows × 256 (64 KiB).
let gemmDepthBlock = 256
let gemmColumnBlock = 256
let gemmBlockFloats = 256 * 256
let gemmRowBlock = 64

/// `C (+)= A·B` for one block, unpacked: rows in fours (`gemmFourRows`), then one by one (`gemmOneRow`).
@inline(__always)
private func gemmKernel(
    m: Int, n: Int, p: Int,
    a: UnsafePointer<Float>, aRowStride: Int, aColStride: Int,
    b: UnsafePointer<Float>, ldb: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
) {
    var i = 0
    while i + 4 <= m {
        gemmFourRows(
            n: n, p: p, a: a + i * aRowStride, aRowStride: aRowStride, aColStride: aColStride, b: b, ldb: ldb,
            c: c + i * ldc, ldc: ldc, accumulate: accumulate)
        i += 4
    }
    while i < m {
        gemmOneRow(
            n: n, p: p, a: a + i * aRowStride, aColStride: aColStride, b: b, ldb: ldb, c: c + i * ldc,
            accumulate: accumulate)
        i += 1
    }
}

/// Four rows of C: 32 columns at a time in AVX-512 builds (`kernelFourRows` at width 16), 16 at a time
/// (eight SIMD8 accumulators), then `gemmFourRowsTail`.
@inline(__always)
private func gemmFourRows(
    n: Int, p: Int, a a0: UnsafePointer<Float>, aRowStride ars: Int, aColStride acs: Int,
    b: UnsafePointer<Float>, ldb: Int, c c0: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
) {
    var j = 0
    #if NFM_AVX512
    while j + 32 <= n {
        kernelFourRows(
            V16.self, depth: p, a: a0, aRowStride: ars, aColStride: acs, b: b + j, ldb: ldb, secondHalf: 16,
            c: c0 + j, ldc: ldc, accumulate: accumulate)
        j += 32
    }
    #endif
    while j + 16 <= n {
        kernelFourBySixteen(
            depth: p, a: a0, aRowStride: ars, aColStride: acs, b: b + j, ldb: ldb, c: c0 + j, ldc: ldc,
            accumulate: accumulate)
        j += 16
    }
    gemmFourRowsTail(
        from: j, n: n, p: p, a: a0, aRowStride: ars, aColStride: acs, b: b, ldb: ldb, c: c0, ldc: ldc,
        accumulate: accumulate)
}

/// Columns `j..<n` of four rows of C: 8 at a time, then one by one.
@inline(__always)
private func gemmFourRowsTail(
    from start: Int, n: Int, p: Int, a a0: UnsafePointer<Float>, aRowStride ars: Int, aColStride acs: Int,
    b: UnsafePointer<Float>, ldb: Int, c c0: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
) {
    let c1 = c0 + ldc
    let c2 = c1 + ldc
    let c3 = c2 + ldc
    var j = start
    while j + 8 <= n {
        var x0 = V8(), x1 = V8(), x2 = V8(), x3 = V8()
        if accumulate {
            x0 = load8(c0 + j); x1 = load8(c1 + j); x2 = load8(c2 + j); x3 = load8(c3 + j)
        }
        var bp = b + j
        var ap = a0
        for _ in 0..<p {
            let b0 = load8(bp)
            x0 = V8(repeating: ap[0]) * b0 + x0
            x1 = V8(repeating: ap[ars]) * b0 + x1
            x2 = V8(repeating: ap[ars &* 2]) * b0 + x2
            x3 = V8(repeating: ap[ars &* 3]) * b0 + x3
            bp += ldb
            ap += acs
        }
        store8(x0, c0 + j); store8(x1, c1 + j); store8(x2, c2 + j); store8(x3, c3 + j)
        j += 8
    }
    while j < n {
        for r in 0..<4 {
            let ar = a0 + r * ars
            let cr = c0 + r * ldc
            var sum: Float = accumulate ? cr[j] : 0
            for q in 0..<p { sum = ar[q * acs] * b[q * ldb + j] + sum }
            cr[j] = sum
        }
        j += 1
    }
}

/// One row of C: 16, then 8 columns at a time, then one by one.
@inline(__always)
private func gemmOneRow(
    n: Int, p: Int, a ar: UnsafePointer<Float>, aColStride acs: Int, b: UnsafePointer<Float>, ldb: Int,
    c cr: UnsafeMutablePointer<Float>, accumulate: Bool
) {
    var j = 0
    while j + 16 <= n {
        var x = accumulate ? load8(cr + j) : V8()
        var y = accumulate ? load8(cr + j + 8) : V8()
        var bp = b + j
        var ap = ar
        for _ in 0..<p {
            let s = V8(repeating: ap.pointee)
            x = s * load8(bp) + x
            y = s * load8(bp + 8) + y
            bp += ldb
            ap += acs
        }
        store8(x, cr + j); store8(y, cr + j + 8)
        j += 16
    }
    while j + 8 <= n {
        var x = accumulate ? load8(cr + j) : V8()
        var bp = b + j
        for q in 0..<p {
            x = V8(repeating: ar[q * acs]) * load8(bp) + x
            bp += ldb
        }
        store8(x, cr + j)
        j += 8
    }
    while j < n {
        var sum: Float = accumulate ? cr[j] : 0
        for q in 0..<p { sum = ar[q * acs] * b[q * ldb + j] + sum }
        cr[j] = sum
        j += 1
    }
}
