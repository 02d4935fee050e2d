import NFMFormat

extension RawRowEncoder {
    /// How one field turns a raw cell into features, as a build recorded it: the definition's `FieldSpec`,
    /// the field's global index range and, per kind, the kept values, the OOV feature and the standardize
    /// statistics.
    ///
    /// Field f owns the global indices `offset ..< offset + cardinality`:
    /// - vocabulary fields (`spec.hasVocabulary`): kept value i ↦ `offset + i`; with `spec.hasOOV` the
    ///   field's last feature `offset + oov` (`oov` = the number of kept values) takes rare, unseen and
    ///   (categorical, `missing: oov`) empty cells, so `cardinality = kept + 1`, else `cardinality = kept`;
    /// - kept numbers: `offset` holds the value xᵢ = t(x) (standardize: (x − mean) / stddev), and with
    ///   `missing: own-value` `offset + 1` is the missing indicator, so `cardinality` is 2, else 1.
    public struct FieldEncoding: Sendable {
        /// The definition's entry for the field.
        public let spec: FieldSpec
        /// First global feature index of the field.
        public let offset: Int
        /// Number of features of the field.
        public let cardinality: Int
        /// The kept values in index order (vocabulary fields); nil for kept numbers.
        public let vocabulary: Vocabulary?
        /// Local index of the OOV feature, when the field has one.
        public let oov: Int?
        /// Mean and standard deviation of a standardized numeric field.
        public let mean: Double?
        public let stddev: Double?

        /// Checks that the recorded encoding is one the definition's `spec` can have produced, throwing
        /// `code` (`.checkpoint` or `.manifest`) at `file`/the field's name otherwise: the kind matches
        /// (`kind` nil = categorical), a vocabulary exactly for vocabulary fields, `cardinality` and `oov`
        /// as in the type's summary, finite statistics with `stddev > 0` exactly for `transform: standardize`,
        /// and `offset + cardinality` within 32-bit indices. O(1).
        public init(
            spec: FieldSpec, offset: Int, cardinality: Int, kind: String?, vocabulary: Vocabulary?, oov: Int?,
            mean: Double?, stddev: Double?, code: NFMError.Code, file: String?
        ) throws {
            func fail(_ key: String, _ value: String, _ what: String) -> NFMError {
                NFMError(code, what, at: .init(file: file, field: "field \(spec.name): \(key)", value: NFMError.excerpt(value)))
            }
            let expectedKind = spec.kind == .categorical ? nil : spec.kind.rawValue
            guard kind == expectedKind else {
                throw fail("kind", kind ?? "categorical", "the definition makes this field \(spec.kind.rawValue)")
            }
            guard offset >= 0, cardinality >= 0, offset <= Int(UInt32.max) - cardinality else {
                throw fail("offset", "\(offset) + \(cardinality)", "the field's features exceed 32-bit indices")
            }
            if spec.hasVocabulary {
                guard let vocabulary else { throw fail("vocabulary", "none", "a \(spec.kind.rawValue) field needs its vocabulary") }
                let expectedOOV = spec.hasOOV ? vocabulary.count : nil
                guard oov == expectedOOV else {
                    throw fail(
                        "oov", oov.map(String.init) ?? "none",
                        expectedOOV.map { "expected the OOV feature at \($0), after the kept values" } ?? "the field has no OOV feature")
                }
                guard cardinality == vocabulary.count + (spec.hasOOV ? 1 : 0) else {
                    throw fail(
                        "cardinality", "\(cardinality)",
                        "the vocabulary has \(vocabulary.count) values\(spec.hasOOV ? " plus the OOV feature" : "")")
                }
            } else {
                guard vocabulary == nil, oov == nil else { throw fail("oov", "\(oov ?? 0)", "a kept number has no vocabulary or OOV feature") }
                let expected = spec.missing == .ownValue ? 2 : 1
                guard cardinality == expected else { throw fail("cardinality", "\(cardinality)", "expected \(expected)") }
            }
            let standardized = spec.kind == .numeric && spec.bucketing == nil && spec.transform == .standardize
            if standardized {
                guard let mean, let stddev, mean.isFinite, stddev.isFinite, stddev > 0 else {
                    throw fail(
                        "stddev", "\(mean.map { "\($0)" } ?? "none") / \(stddev.map { "\($0)" } ?? "none")",
                        "a standardized field needs a finite mean and a positive finite stddev")
                }
            } else if mean != nil || stddev != nil {
                throw fail("mean", "\(mean ?? 0)", "only a standardized numeric field has statistics")
            }
            self.spec = spec
            self.offset = offset
            self.cardinality = cardinality
            self.vocabulary = vocabulary
            self.oov = oov
            self.mean = mean
            self.stddev = stddev
        }

        /// xᵢ of a kept number x as the build computes it: `v = Float(t(x))`, and when standardized
        /// `Float((Double(v) − mean) / stddev)` (the build stores v and standardizes it once the train
        /// split's statistics are known).
        @inline(__always)
        func value(of x: Double) -> Float {
            let stored = Float(spec.transformed(x))
            guard let mean, let stddev else { return stored }
            return Float((Double(stored) - mean) / stddev)
        }

        /// Whether the field can give an entry a value other than 1 (kept numbers, `weight: mean`).
        var hasValues: Bool {
            (spec.kind == .numeric && spec.bucketing == nil) || (spec.kind == .multi && spec.weight == .mean)
        }
    }
}

