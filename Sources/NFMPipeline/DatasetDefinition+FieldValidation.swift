import NFMFormat

extension DatasetDefinition {
    /// Limits of version 2's keys.
    public enum FieldLimits {
        /// `minCount` (per field or default): 2³¹ − 1 already exceeds any count a build can see.
        public static let minCount = 1...Int(Int32.max)
        /// `boundaries`: explicit bucket boundaries per field.
        public static let boundaries = 1...1024
    }

    /// Each field's type-specific keys: `minCount` in range, numeric `missing`/`transform`/bucketing
    /// consistent, boundaries finite and strictly increasing, a one-byte multi-value separator that is not
    /// the delimiter, the quote or a line break.
    func validateFieldSpecs() throws {
        guard FieldLimits.minCount.contains(minCount) else {
            throw invalid("minCount", "must be 1…\(FieldLimits.minCount.upperBound), found \(minCount)")
        }
        for (index, spec) in fieldSpecs.enumerated() {
            let path = "fields[\(index)]"
            guard FieldLimits.minCount.contains(spec.minCount) else {
                throw invalid(path + ".minCount", "must be 1…\(FieldLimits.minCount.upperBound), found \(spec.minCount)")
            }
            switch spec.kind {
            case .categorical:
                guard spec.missing == .value || spec.missing == .oov else {
                    throw invalid(path + ".missing", "must be value or oov for a categorical field", value: spec.missing.rawValue)
                }
            case .numeric:
                try validateNumeric(spec, path: path)
            case .multi:
                let byte = spec.separator.utf8.first
                guard spec.separator.utf8.count == 1, let byte, byte != 10, byte != 13,
                    spec.separator != input.delimiter, spec.separator != input.quote
                else {
                    throw invalid(
                        path + ".separator", "must be one byte other than the delimiter, the quote and line breaks",
                        value: spec.separator)
                }
            }
        }
    }

    private func validateNumeric(_ spec: FieldSpec, path: String) throws {
        guard spec.missing == .zero || spec.missing == .ownValue else {
            throw invalid(path + ".missing", "must be zero or own-value for a numeric field", value: spec.missing.rawValue)
        }
        guard spec.bucketing == nil || spec.transform == .none else {
            throw invalid(path + ".transform", "cannot be combined with bucketize or boundaries", value: spec.transform.rawValue)
        }
        guard spec.bucketing != nil || spec.minCount == 1 || spec.minCount == minCount else {
            throw invalid(path + ".minCount", "applies only to a bucketized numeric field")
        }
        guard case .boundaries(let boundaries) = spec.bucketing else { return }
        guard FieldLimits.boundaries.contains(boundaries.count) else {
            throw invalid(path + ".boundaries", "must list 1…\(FieldLimits.boundaries.upperBound) numbers, found \(boundaries.count)")
        }
        for i in 1..<boundaries.count where !(boundaries[i - 1] < boundaries[i]) {
            throw invalid("\(path).boundaries[\(i)]", "must be greater than the boundary before it", value: "\(boundaries[i])")
        }
    }

    /// Exactly one source of labels: an explicit `label` column, or `labels` with `negatives` sampled over
    /// plain categorical fields. The label column must be one of the columns and not a field.
    func validateLabelSource() throws {
        guard let label else {
            guard labels != nil else { throw invalid("labels", "missing key (or give an explicit \"label\" column)") }
            guard negatives != nil else { throw invalid("negatives", "missing key (or give an explicit \"label\" column)") }
            for (index, spec) in fieldSpecs.enumerated() where spec != .categorical(spec.name, minCount: 1) {
                throw invalid(
                    "fields[\(index)]",
                    "numeric, multi-valued, minCount and missing settings need an explicit \"label\" column"
                        + " (sampled negatives corrupt plain categorical fields)", value: spec.name)
            }
            return
        }
        for key in ["labels", "negatives"] where key == "labels" ? labels != nil : negatives != nil {
            throw invalid(key, "does not go with an explicit \"label\" column (no negatives are sampled); remove it")
        }
        guard columns.contains(label.column) else {
            throw invalid("label.column", "is not one of the columns", value: label.column)
        }
        guard !fields.contains(label.column) else {
            throw invalid("label.column", "is also a field; a column is either the label or a field", value: label.column)
        }
        if label.kind == .binary {
            let values = Set(label.map.values)
            guard values.count == 2 else {
                throw invalid("label.map", "a binary label must map to exactly two distinct numbers, found \(values.sorted())")
            }
        }
    }
}
