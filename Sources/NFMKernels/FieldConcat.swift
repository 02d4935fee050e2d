/// Concatenated field embeddings, the input layer of Wide&Deep (Cheng et al., DLRS 2016) and DeepCross
/// (Shan et al., KDD 2016): row `r` becomes `[Σ_{i∈field 0} xᵢvᵢ, …, Σ_{i∈field F−1} xᵢvᵢ]`, a vector of
/// `F·k` values. With one-hot fields (one feature of value 1 per field) this is exactly the concatenation
/// of the row's embeddings in field order; a field with no feature in the row (e.g. an unseen value
/// dropped by `nfm predict --unseen ignore`) contributes zeros, and several features of one field are
/// summed (an embedding bag per field).
///
/// `fieldOf[i]` is the field of feature `i`. Writes `out`, `rowCount × (fieldCount·k)`.
public func fieldConcatForward(
    _ x: SparseRows, factors k: Int, fieldCount: Int, fieldOf: UnsafePointer<Int32>, embeddings: UnsafePointer<Float>,
    out: UnsafeMutablePointer<Float>
) {
    let width = fieldCount * k
    out.update(repeating: 0, count: x.rowCount * width)
    for r in 0..<x.rowCount {
        let o = out + r * width
        for e in x.range(ofRow: r) {
            let feature = Int(x.indices[e])
            let v = embeddings + feature * k
            let dst = o + Int(fieldOf[feature]) * k
            var c = 0
            if let values = x.values {
                let s = values[e]
                let s8 = V8(repeating: s)
                while c + 8 <= k {
                    store8(s8 * load8(v + c) + load8(dst + c), dst + c)
                    c += 8
                }
                while c < k {
                    dst[c] += s * v[c]
                    c += 1
                }
            } else {
                while c + 8 <= k {
                    store8(load8(v + c) + load8(dst + c), dst + c)
                    c += 8
                }
                while c < k {
                    dst[c] += v[c]
                    c += 1
                }
            }
        }
    }
}

/// Backward of `fieldConcatForward`: `∂L/∂vᵢ += xᵢ · g[r, field(i)·k ..< (field(i)+1)·k]` for each entry
/// of each row, accumulated into row `entrySlots[e]` of `gradEmbeddings` (`slots × k`).
public func fieldConcatBackward(
    _ x: SparseRows, factors k: Int, fieldCount: Int, fieldOf: UnsafePointer<Int32>, gradConcat: UnsafePointer<Float>,
    entrySlots: UnsafePointer<Int32>, gradEmbeddings: UnsafeMutablePointer<Float>
) {
    let width = fieldCount * k
    let first = x.firstEntry
    for r in 0..<x.rowCount {
        let g = gradConcat + r * width
        for e in x.range(ofRow: r) {
            let feature = Int(x.indices[e])
            let src = g + Int(fieldOf[feature]) * k
            let out = gradEmbeddings + Int(entrySlots[e - first]) * k
            let s = x.values?[e] ?? 1
            let s8 = V8(repeating: s)
            var c = 0
            while c + 8 <= k {
                store8(s8 * load8(src + c) + load8(out + c), out + c)
                c += 8
            }
            while c < k {
                out[c] += s * src[c]
                c += 1
            }
        }
    }
}
