/// A view of sparse input rows for the kernels.
///
/// Fixed layout (`offsets == nil`): row `r` owns entries `r·fieldCount ..< (r+1)·fieldCount` of
/// `indices`. Sparse layout: row `r` owns `offsets[r] ..< offsets[r+1]` (absolute positions in
/// `indices` / `values`). A missing `values` means every feature value is 1.
///
/// "Entry numbers" (used by `entrySlots`) count the entries of the view from 0.
public struct SparseRows {
    /// Number of rows in the view.
    public var rowCount: Int
    /// Entries per row in the fixed layout (one feature per field); unused by the sparse layout.
    public var fieldCount: Int
    /// Feature index of every entry (a row into the embedding and linear-weight tables).
    public var indices: UnsafePointer<UInt32>
    /// Row boundaries of the sparse layout, `rowCount + 1` absolute positions into `indices`; nil for the
    /// fixed layout.
    public var offsets: UnsafePointer<UInt32>?
    /// Feature value of every entry, parallel to `indices`; nil when every value is 1.
    public var values: UnsafePointer<Float>?

    /// A view of caller-owned buffers, which must outlive it (nothing is copied).
    public init(
        rowCount: Int, fieldCount: Int, indices: UnsafePointer<UInt32>, offsets: UnsafePointer<UInt32>? = nil,
        values: UnsafePointer<Float>? = nil
    ) {
        self.rowCount = rowCount
        self.fieldCount = fieldCount
        self.indices = indices
        self.offsets = offsets
        self.values = values
    }

    /// Absolute entry range of row `r`.
    @inlinable public func range(ofRow r: Int) -> Range<Int> {
        if let offsets { return Int(offsets[r])..<Int(offsets[r + 1]) }
        return r * fieldCount..<(r + 1) * fieldCount
    }

    /// First absolute entry of the view (entry number 0).
    @inlinable public var firstEntry: Int { offsets.map { Int($0[0]) } ?? 0 }

    /// Number of entries in the view: `offsets[rowCount] − offsets[0]`, or `rowCount · fieldCount` when fixed.
    @inlinable public var entryCount: Int {
        if let offsets { return Int(offsets[rowCount]) - Int(offsets[0]) }
        return rowCount * fieldCount
    }
}

/// Bi-Interaction pooling in linear time (He & Chua, SIGIR 2017, eq. 4):
/// `f_BI(x) = ½[(Σᵢ xᵢvᵢ)² − Σᵢ (xᵢvᵢ)²]`, for every row. Writes the sums `Σᵢ xᵢvᵢ` (needed by the
/// backward pass) to `sum` and the pooled vectors to `interaction`, both `rowCount × k`.
public func biInteractionForward(
    _ x: SparseRows, factors k: Int, embeddings: UnsafePointer<Float>,
    sum: UnsafeMutablePointer<Float>, interaction: UnsafeMutablePointer<Float>
) {
    for r in 0..<x.rowCount {
        let range = x.range(ofRow: r)
        let s = sum + r * k
        let o = interaction + r * k
        if r &+ 2 < x.rowCount {
            for e in x.range(ofRow: r &+ 2) { prefetchLines(embeddings + Int(x.indices[e]) &* k, bytes: k &* 4) }
        }
        var c = 0
        if let values = x.values {
            c = biInteractionValuedColumns(range, x.indices, values, factors: k, embeddings: embeddings, sum: s, out: o)
        } else {
            c = biInteractionUnitColumns(range, x.indices, factors: k, embeddings: embeddings, sum: s, out: o)
        }
        while c < k {
            var s0: Float = 0, q0: Float = 0
            for e in range {
                let v0 = (x.values?[e] ?? 1) * embeddings[Int(x.indices[e]) * k + c]
                s0 += v0
                q0 = v0 * v0 + q0
            }
            s[c] = s0
            o[c] = 0.5 * (s0 * s0 - q0)
            c += 1
        }
    }
}

/// One row's pooled columns with all feature values 1, 64 (AVX-512 builds), 32, then 8 at a time;
/// returns the first column left (the scalar tail).
@inline(__always)
private func biInteractionUnitColumns(
    _ range: Range<Int>, _ indices: UnsafePointer<UInt32>, factors k: Int, embeddings: UnsafePointer<Float>,
    sum s: UnsafeMutablePointer<Float>, out o: UnsafeMutablePointer<Float>
) -> Int {
    var c = 0
    #if NFM_AVX512
    while c + 64 <= k {
        biInteractionUnitBlock(V16.self, range, indices, factors: k, column: c, embeddings: embeddings, sum: s, out: o)
        c += 64
    }
    #endif
    while c + 32 <= k {
        biInteractionUnitBlock(V8.self, range, indices, factors: k, column: c, embeddings: embeddings, sum: s, out: o)
        c += 32
    }
    let half = V8(repeating: 0.5)
    while c + 8 <= k {
        var s0 = V8(), q0 = V8()
        for e in range {
            let v0 = load8(embeddings + Int(indices[e]) * k + c)
            s0 += v0
            q0 = v0 * v0 + q0
        }
        store8(s0, s + c)
        store8(half * (s0 * s0 - q0), o + c)
        c += 8
    }
    return c
}

/// Columns `column ..< column + 4w` of one row's pooled vector (`w` = `Lanes.width`), all feature values
/// 1: four accumulators of the sum and four of the sum of squares per pass over the row's features.
@inline(__always)
private func biInteractionUnitBlock<Lanes: FloatLanes>(
    _: Lanes.Type, _ range: Range<Int>, _ indices: UnsafePointer<UInt32>, factors k: Int, column c: Int,
    embeddings: UnsafePointer<Float>, sum s: UnsafeMutablePointer<Float>, out o: UnsafeMutablePointer<Float>
) {
    let w = Lanes.width
    var s0 = Lanes(), s1 = Lanes(), s2 = Lanes(), s3 = Lanes()
    var q0 = Lanes(), q1 = Lanes(), q2 = Lanes(), q3 = Lanes()
    for e in range {
        let v = embeddings + (Int(indices[e]) &* k &+ c)
        let v0 = Lanes.load(v), v1 = Lanes.load(v + w), v2 = Lanes.load(v + 2 * w), v3 = Lanes.load(v + 3 * w)
        s0 = s0 + v0; s1 = s1 + v1; s2 = s2 + v2; s3 = s3 + v3
        q0 = v0 * v0 + q0; q1 = v1 * v1 + q1; q2 = v2 * v2 + q2; q3 = v3 * v3 + q3
    }
    let half = Lanes(repeating: 0.5)
    s0.store(s + c); s1.store(s + c + w); s2.store(s + c + 2 * w); s3.store(s + c + 3 * w)
    (half * (s0 * s0 - q0)).store(o + c)
    (half * (s1 * s1 - q1)).store(o + c + w)
    (half * (s2 * s2 - q2)).store(o + c + 2 * w)
    (half * (s3 * s3 - q3)).store(o + c + 3 * w)
}

/// One row's pooled columns with feature values, 8 at a time; returns the first column left.
@inline(__always)
private func biInteractionValuedColumns(
    _ range: Range<Int>, _ indices: UnsafePointer<UInt32>, _ values: UnsafePointer<Float>, factors k: Int,
    embeddings: UnsafePointer<Float>, sum s: UnsafeMutablePointer<Float>, out o: UnsafeMutablePointer<Float>
) -> Int {
    let half = V8(repeating: 0.5)
    var c = 0
    while c + 8 <= k {
        var s0 = V8(), q0 = V8()
        for e in range {
            let v0 = V8(repeating: values[e]) * load8(embeddings + Int(indices[e]) * k + c)
            s0 += v0
            q0 = v0 * v0 + q0
        }
        store8(s0, s + c)
        store8(half * (s0 * s0 - q0), o + c)
        c += 8
    }
    return c
}

/// Backward pass of Bi-Interaction pooling: `∂L/∂vᵢ = xᵢ · g ⊙ (s − xᵢvᵢ)` for each entry, where `g` is
/// the gradient of the pooled vector and `s = Σⱼ xⱼvⱼ`. Entry `e` (numbered from 0 in the view)
/// accumulates into row `entrySlots[e]` of `gradEmbeddings` (`slots × k`), so that features repeated in
/// a batch are summed before a sparse optimiser step.
public func biInteractionBackward(
    _ x: SparseRows, factors k: Int, embeddings: UnsafePointer<Float>, sum: UnsafePointer<Float>,
    gradInteraction: UnsafePointer<Float>, entrySlots: UnsafePointer<Int32>,
    gradEmbeddings: UnsafeMutablePointer<Float>
) {
    let first = x.firstEntry
    for r in 0..<x.rowCount {
        let s = sum + r * k
        let g = gradInteraction + r * k
        for e in x.range(ofRow: r) {
            let v = embeddings + Int(x.indices[e]) * k
            let out = gradEmbeddings + Int(entrySlots[e - first]) * k
            var c = 0
            if let values = x.values {
                let xv = values[e]
                let x8 = V8(repeating: xv)
                while c + 8 <= k {
                    store8(x8 * load8(g + c) * (load8(s + c) - x8 * load8(v + c)) + load8(out + c), out + c)
                    c += 8
                }
                while c < k {
                    out[c] += xv * g[c] * (s[c] - xv * v[c])
                    c += 1
                }
            } else {
                while c + 8 <= k {
                    store8(load8(g + c) * (load8(s + c) - load8(v + c)) + load8(out + c), out + c)
                    c += 8
                }
                while c < k {
                    out[c] += g[c] * (s[c] - v[c])
                    c += 1
                }
            }
        }
    }
}

/// First-order part: `out[r] = bias + Σᵢ xᵢwᵢ`.
public func linearForward(
    _ x: SparseRows, weights: UnsafePointer<Float>, bias: Float, out: UnsafeMutablePointer<Float>
) {
    for r in 0..<x.rowCount {
        var sum = bias
        if let values = x.values {
            for e in x.range(ofRow: r) { sum += values[e] * weights[Int(x.indices[e])] }
        } else {
            for e in x.range(ofRow: r) { sum += weights[Int(x.indices[e])] }
        }
        out[r] = sum
    }
}

/// Backward of the first-order part: `gradWeights[entrySlots[e]] += xₑ · gradOutput[r]`.
public func linearBackward(
    _ x: SparseRows, gradOutput: UnsafePointer<Float>, entrySlots: UnsafePointer<Int32>,
    gradWeights: UnsafeMutablePointer<Float>
) {
    let first = x.firstEntry
    for r in 0..<x.rowCount {
        let g = gradOutput[r]
        for e in x.range(ofRow: r) {
            gradWeights[Int(entrySlots[e - first])] += (x.values?[e] ?? 1) * g
        }
    }
}
