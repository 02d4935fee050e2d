/// A batch's feature entries grouped by gradient slot (one slot per distinct feature, numbered in order
/// of first appearance): slot `s` owns the entries `entries[start[s] ..< start[s + 1]]`, in increasing
/// entry order, and entry `e` (counted from the batch's first entry) lies in row `rows[e]`.
///
/// The slot-major kernels below write each slot's gradient row once, summing its entries in increasing
/// entry order — the order in which the row-major scatter (`biInteractionBackward` and the others) adds
/// them — so the two give the same bits, and disjoint slot ranges can run on different threads.
public struct SlotEntries {
    /// `slotCount + 1` offsets into `entries`.
    public var start: UnsafePointer<Int32>
    /// Entry numbers (from the batch's first entry), grouped by slot.
    public var entries: UnsafePointer<Int32>
    /// Row of each entry number.
    public var rows: UnsafePointer<Int32>

    /// The grouping of a batch (see the type).
    public init(start: UnsafePointer<Int32>, entries: UnsafePointer<Int32>, rows: UnsafePointer<Int32>) {
        self.start = start
        self.entries = entries
        self.rows = rows
    }

    /// The entry numbers of slot `s`.
    @inlinable public func range(ofSlot s: Int) -> Range<Int> { Int(start[s])..<Int(start[s + 1]) }
}

extension SparseRows {
    /// Rows `range` of these rows, as a view on the same memory (entry numbers keep their meaning:
    /// `firstEntry` becomes the first entry of the range). O(1).
    @inlinable public func rows(_ range: Range<Int>) -> SparseRows {
        if let offsets {
            return SparseRows(
                rowCount: range.count, fieldCount: fieldCount, indices: indices, offsets: offsets + range.lowerBound,
                values: values)
        }
        let skip = range.lowerBound * fieldCount
        return SparseRows(
            rowCount: range.count, fieldCount: fieldCount, indices: indices + skip, offsets: nil, values: values.map { $0 + skip })
    }
}

/// `∂L/∂wᵢ` of the first-order term for the slots `slots`: `grad[s] = Σ_{e ∈ s} x_e · g[row(e)]`.
public func linearBackward(
    _ x: SparseRows, gradOutput g: UnsafePointer<Float>, entries: SlotEntries, slots: Range<Int>,
    gradWeights: UnsafeMutablePointer<Float>
) {
    let first = x.firstEntry
    guard let values = x.values else {
        // Values of 1: `1·g` is `g`, so the sum is the same without the product.
        for s in slots {
            var total: Float = 0
            for i in entries.range(ofSlot: s) { total += g[Int(entries.rows[Int(entries.entries[i])])] }
            gradWeights[s] = total
        }
        return
    }
    for s in slots {
        var total: Float = 0
        for i in entries.range(ofSlot: s) {
            let e = Int(entries.entries[i])
            total += values[first &+ e] * g[Int(entries.rows[e])]
        }
        gradWeights[s] = total
    }
}

/// Slot-major `biInteractionBackward` for the slots `slots`:
/// `∂L/∂v_s = Σ_{e ∈ s} x_e · g_r ⊙ (Σ_r − x_e v_s)` with `r = row(e)`, `Σ_r` the row's `sum`.
public func biInteractionBackward(
    _ x: SparseRows, factors k: Int, embeddings: UnsafePointer<Float>, sum: UnsafePointer<Float>,
    gradInteraction: UnsafePointer<Float>, entries: SlotEntries, slots: Range<Int>,
    gradEmbeddings: UnsafeMutablePointer<Float>
) {
    let first = x.firstEntry
    for s in slots {
        let range = entries.range(ofSlot: s)
        let v = embeddings + Int(x.indices[first + Int(entries.entries[range.lowerBound])]) * k
        let out = gradEmbeddings + s * k
        if s &+ 2 < slots.upperBound {
            let ahead = Int(x.indices[first + Int(entries.entries[Int(entries.start[s &+ 2])])])
            prefetchLines(embeddings + ahead &* k, bytes: k &* 4, forWriting: true)
        }
        var c = 0
        if x.values == nil {
            #if NFM_AVX512
            while c + 64 <= k {
                slotUnitBlock(
                    V16.self, entries, range, factors: k, column: c, v: v, sum: sum, gradInteraction: gradInteraction,
                    out: out)
                c += 64
            }
            #endif
            // 32 columns per pass over the slot's entries (four accumulators).
            while c + 32 <= k {
                slotUnitBlock(
                    V8.self, entries, range, factors: k, column: c, v: v, sum: sum, gradInteraction: gradInteraction,
                    out: out)
                c += 32
            }
        }
        while c + 8 <= k {
            var acc = V8()
            let v8 = load8(v + c)
            for i in range {
                let e = Int(entries.entries[i])
                let r = Int(entries.rows[e])
                let g = load8(gradInteraction + r * k + c)
                let sr = load8(sum + r * k + c)
                if let values = x.values {
                    let x8 = V8(repeating: values[first + e])
                    acc = x8 * g * (sr - x8 * v8) + acc
                } else {
                    acc = g * (sr - v8) + acc
                }
            }
            store8(acc, out + c)
            c += 8
        }
        while c < k {
            var acc: Float = 0
            for i in range {
                let e = Int(entries.entries[i])
                let r = Int(entries.rows[e])
                let xv = x.values?[first + e] ?? 1
                if x.values != nil {
                    acc += xv * gradInteraction[r * k + c] * (sum[r * k + c] - xv * v[c])
                } else {
                    acc += gradInteraction[r * k + c] * (sum[r * k + c] - v[c])
                }
            }
            out[c] = acc
            c += 1
        }
    }
}

/// Columns `column ..< column + 4w` of one slot's embedding gradient (`w` = `Lanes.width`), all feature
/// values 1: `Σ_{e ∈ slot} g_r ⊙ (Σ_r − v)` in four accumulators, entries in order.
@inline(__always)
private func slotUnitBlock<Lanes: FloatLanes>(
    _: Lanes.Type, _ entries: SlotEntries, _ range: Range<Int>, factors k: Int, column c: Int, v: UnsafePointer<Float>,
    sum: UnsafePointer<Float>, gradInteraction: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>
) {
    let w = Lanes.width
    var a0 = Lanes(), a1 = Lanes(), a2 = Lanes(), a3 = Lanes()
    let v0 = Lanes.load(v + c), v1 = Lanes.load(v + c + w)
    let v2 = Lanes.load(v + c + 2 * w), v3 = Lanes.load(v + c + 3 * w)
    for i in range {
        let r = Int(entries.rows[Int(entries.entries[i])]) &* k &+ c
        let g = gradInteraction + r, sr = sum + r
        a0 = Lanes.load(g) * (Lanes.load(sr) - v0) + a0
        a1 = Lanes.load(g + w) * (Lanes.load(sr + w) - v1) + a1
        a2 = Lanes.load(g + 2 * w) * (Lanes.load(sr + 2 * w) - v2) + a2
        a3 = Lanes.load(g + 3 * w) * (Lanes.load(sr + 3 * w) - v3) + a3
    }
    a0.store(out + c); a1.store(out + c + w); a2.store(out + c + 2 * w); a3.store(out + c + 3 * w)
}

/// Slot-major `fieldConcatBackward` for the slots `slots`: `∂L/∂v_s = Σ_{e ∈ s} x_e · ∂L/∂concat[row(e),
/// field(s)]`.
public func fieldConcatBackward(
    _ x: SparseRows, factors k: Int, fieldCount: Int, fieldOf: UnsafePointer<Int32>, gradConcat: UnsafePointer<Float>,
    entries: SlotEntries, slots: Range<Int>, gradEmbeddings: UnsafeMutablePointer<Float>
) {
    let width = fieldCount * k
    let first = x.firstEntry
    for s in slots {
        let range = entries.range(ofSlot: s)
        let feature = Int(x.indices[first + Int(entries.entries[range.lowerBound])])
        let column = Int(fieldOf[feature]) * k
        let out = gradEmbeddings + s * k
        var c = 0
        while c + 8 <= k {
            var acc = V8()
            for i in range {
                let e = Int(entries.entries[i])
                let src = gradConcat + Int(entries.rows[e]) * width + column
                acc = V8(repeating: x.values?[first + e] ?? 1) * load8(src + c) + acc
            }
            store8(acc, out + c)
            c += 8
        }
        while c < k {
            var acc: Float = 0
            for i in range {
                let e = Int(entries.entries[i])
                acc += (x.values?[first + e] ?? 1) * gradConcat[Int(entries.rows[e]) * width + column + c]
            }
            out[c] = acc
            c += 1
        }
    }
}

/// Slot-major `anova3Backward` for the slots `slots`:
/// `∂L/∂q_s = Σ_{e ∈ s} x_e · g_r ⊙ ((s₁² − s₂)/2 − s₁a + a²)`, `a = x_e q_s`, `r = row(e)`.
public func anova3Backward(
    _ x: SparseRows, factors k: Int, embeddings: UnsafePointer<Float>, sum: UnsafePointer<Float>,
    sumSquares: UnsafePointer<Float>, gradKernel: UnsafePointer<Float>, entries: SlotEntries, slots: Range<Int>,
    gradEmbeddings: UnsafeMutablePointer<Float>
) {
    let first = x.firstEntry
    let half = V8(repeating: 0.5)
    for s in slots {
        let range = entries.range(ofSlot: s)
        let q = embeddings + Int(x.indices[first + Int(entries.entries[range.lowerBound])]) * k
        let out = gradEmbeddings + s * k
        var c = 0
        while c + 8 <= k {
            var acc = V8()
            for i in range {
                let e = Int(entries.entries[i])
                let r = Int(entries.rows[e])
                let xv = x.values?[first + e] ?? 1
                let x8 = V8(repeating: xv)
                let s1 = load8(sum + r * k + c)
                let a = x8 * load8(q + c)
                let d = half * (s1 * s1 - load8(sumSquares + r * k + c)) - s1 * a + a * a
                acc = x8 * load8(gradKernel + r * k + c) * d + acc
            }
            store8(acc, out + c)
            c += 8
        }
        while c < k {
            var acc: Float = 0
            for i in range {
                let e = Int(entries.entries[i])
                let r = Int(entries.rows[e])
                let xv = x.values?[first + e] ?? 1
                let s1 = sum[r * k + c]
                let a = xv * q[c]
                let d = 0.5 * (s1 * s1 - sumSquares[r * k + c]) - s1 * a + a * a
                acc += xv * gradKernel[r * k + c] * d
            }
            out[c] = acc
            c += 1
        }
    }
}
