/// "Did you mean …?" for a misspelled key: the nearest known key by edit distance.
enum KeySuggestion {
    /// The known key closest to `key`, if it is close enough to be a plausible misspelling: equal
    /// ignoring case, or at most 1 edit away (2 for keys of 5 or more characters). Ties go to the
    /// earlier key of `known`.
    static func nearest(to key: String, among known: [String]) -> String? {
        let lowered = key.lowercased()
        if let match = known.first(where: { $0.lowercased() == lowered }) { return match }
        let limit = key.count >= 5 ? 2 : 1
        var best: (key: String, distance: Int)?
        for candidate in known {
            let distance = editDistance(lowered, candidate.lowercased())
            if distance <= limit, distance < (best?.distance ?? .max) { best = (candidate, distance) }
        }
        return best?.key
    }

    /// Optimal-string-alignment distance: insertions, deletions, substitutions and transpositions of
    /// adjacent characters each cost 1 (`qoute` → `quote` is 1). O(|a|·|b|) time, O(|b|) memory;
    /// inputs longer than 64 characters are never close to a definition key and return `Int.max`.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.unicodeScalars)
        let b = Array(b.unicodeScalars)
        guard a.count <= 64, b.count <= 64 else { return .max }
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous2 = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var row = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            row[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    row[j] = min(row[j], previous2[j - 2] + 1)
                }
            }
            (previous2, previous, row) = (previous, row, previous2)
        }
        return previous[b.count]
    }
}
