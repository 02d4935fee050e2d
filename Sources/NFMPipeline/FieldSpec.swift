import Foundation
import NFMFormat

/// How one field of a definition turns a cell into features: a `fields` entry, either a column name
/// (categorical, as in version 1 definitions) or an object such as
/// `{"name": "I1", "type": "numeric", "transform": "log1p", "missing": "own-value"}`.
///
/// | type | features of the field | a row gets |
/// |---|---|---|
/// | `categorical` | one per kept value, then the OOV feature (when the field has one) | one, xᵢ = 1 |
/// | `numeric` | one (the value), then the missing indicator (`missing: own-value`) | xᵢ = t(x), or the indicator with 1, or none |
/// | `numeric` + `bucketize`/`boundaries` | one per bucket seen, then OOV | one bucket, xᵢ = 1 |
/// | `multi` | one per kept value, then OOV | one per value in the cell, xᵢ = 1 or 1/n |
///
/// Kept values are those seen at least `minCount` times, indexed in first-appearance order; the others
/// (and, with `missing: oov`, empty cells) map to the field's out-of-vocabulary (OOV) feature, which is
/// the field's last feature.
public struct FieldSpec: Sendable, Equatable {
    /// What a cell holds.
    public enum Kind: String, Sendable, CaseIterable {
        /// One value from a vocabulary (one-hot).
        case categorical
        /// A number, kept as the feature's value xᵢ or bucketized into a categorical value.
        case numeric
        /// Several values from a vocabulary, separated by `separator` (multi-hot).
        case multi
    }

    /// What an empty cell becomes.
    public enum Missing: String, Sendable, CaseIterable {
        /// Categorical: the empty string is a value like any other (version 1 behaviour).
        case value
        /// Categorical: the field's OOV feature.
        case oov
        /// Numeric: no feature (xᵢ = 0).
        case zero
        /// Numeric: an indicator feature of its own, xᵢ = 1 (bucketized: the bucket named by the empty string).
        case ownValue = "own-value"
    }

    /// The function t applied to a numeric cell x.
    public enum Transform: String, Sendable, CaseIterable {
        /// t(x) = x.
        case none
        /// t(x) = sign(x) · log(1 + |x|) (defined for negative counts too).
        case log1p
        /// t(x) = (x − μ) / σ with μ, σ the mean and population standard deviation of the field's
        /// present values in the train split (σ = 1 when it is 0); recorded in the manifest. x is rounded to
        /// a 32-bit float first (as pass 1 stores it): xᵢ = Float((Double(Float(x)) − μ) / σ).
        case standardize
    }

    /// How a numeric cell becomes a categorical bucket.
    public enum Bucketing: Sendable, Equatable {
        /// The Criteo-competition transform: `⌊ln(x)²⌋` for x > 2, else x itself (as an integer when integral).
        case log2Squared
        /// Bucket i = the number of boundaries ≤ x (so `boundaries.count + 1` buckets).
        case boundaries([Double])
    }

    /// Per-value weight of a multi-valued cell with n values.
    public enum Weight: String, Sendable, CaseIterable {
        /// xᵢ = 1.
        case one
        /// xᵢ = 1/n.
        case mean
    }

    /// The column the field reads, and the field's name in the manifest.
    public var name: String
    /// What a cell holds.
    public var kind: Kind
    /// Values seen fewer times than this map to the OOV feature (1 keeps every value).
    public var minCount: Int
    /// What an empty cell becomes.
    public var missing: Missing
    /// The numeric transform (numeric fields that are not bucketized).
    public var transform: Transform
    /// The bucketing of a numeric field, which makes it categorical; nil keeps the number.
    public var bucketing: Bucketing?
    /// The one-byte separator of a multi-valued cell.
    public var separator: String
    /// The weight of each value of a multi-valued cell.
    public var weight: Weight

    /// A plain categorical field (what a version 1 `fields` string means).
    public static func categorical(_ name: String, minCount: Int = 1) -> FieldSpec {
        FieldSpec(
            name: name, kind: .categorical, minCount: minCount, missing: .value, transform: .none, bucketing: nil,
            separator: "|", weight: .one)
    }

    /// Whether the field is one-hot or multi-hot over a vocabulary of values (everything but a kept number).
    public var hasVocabulary: Bool { kind != .numeric || bucketing != nil }

    /// Whether the field owns an out-of-vocabulary feature (its last one).
    public var hasOOV: Bool { hasVocabulary && (minCount > 1 || missing == .oov) }

    /// Whether every row gets exactly one feature with value 1 from this field (the fixed shard layout).
    public var isOneHot: Bool {
        switch kind {
        case .categorical: true
        case .numeric: bucketing != nil && missing == .ownValue
        case .multi: false
        }
    }

    /// The name of the bucket of `x` (a numeric field with `bucketing`): the bucket's text, as written in
    /// the vocabulary.
    public func bucketName(_ x: Double) -> String {
        switch bucketing {
        case .log2Squared:
            guard x > 2 else { return NumericCell.integralText(x) }
            let logarithm = x.logarithm
            return NumericCell.integralText((logarithm * logarithm).rounded(.down))
        case .boundaries(let boundaries):
            var bucket = 0
            while bucket < boundaries.count && boundaries[bucket] <= x { bucket += 1 }
            return String(bucket)
        case nil:
            return NumericCell.integralText(x)
        }
    }

    /// t(x) for `.none` and `.log1p`; `.standardize` returns x (the statistics are applied later).
    @inline(__always)
    public func transformed(_ x: Double) -> Double { FieldSpec.transform(x, transform) }
}

/// A field's encoding as plain values, for the builder's per-cell loops (copying a `FieldSpec`, which
/// holds strings and arrays, costs reference counting on every cell).
enum CellCode: Equatable {
    /// One vocabulary value; an empty cell is the OOV feature when `emptyIsOOV`, else the value "".
    case categorical(emptyIsOOV: Bool)
    /// A number's bucket from the vocabulary; an empty cell is the bucket "" when `missingOwnValue`, else none.
    case bucketized(missingOwnValue: Bool)
    /// A kept number t(x); an empty cell is the indicator feature when `missingOwnValue`, else none.
    case number(transform: FieldSpec.Transform, missingOwnValue: Bool)
    /// Several vocabulary values separated by `separator`, each weighted 1 or 1/n.
    case multi(separator: UInt8, meanWeight: Bool)
}

extension FieldSpec {
    /// This field's `CellCode`.
    var cellCode: CellCode {
        switch kind {
        case .categorical: .categorical(emptyIsOOV: missing == .oov)
        case .numeric where bucketing != nil: .bucketized(missingOwnValue: missing == .ownValue)
        case .numeric: .number(transform: transform, missingOwnValue: missing == .ownValue)
        case .multi: .multi(separator: separator.utf8.first ?? UInt8(ascii: "|"), meanWeight: weight == .mean)
        }
    }

    /// The transform of a kept number; nil for every other code (buckets included).
    var keptTransform: Transform? {
        if case .number(let transform, _) = cellCode { transform } else { nil }
    }

    /// t(x) as a static function of the transform (see `transformed(_:)`).
    @inline(__always)
    static func transform(_ x: Double, _ transform: Transform) -> Double {
        switch transform {
        case .none, .standardize: x
        case .log1p: x < 0 ? -(-x).onePlusLogarithm : x.onePlusLogarithm
        }
    }
}

/// An explicit label column: `"label": {"column": "label", "type": "binary", "map": {"0": 0, "1": 1}}`.
/// With it no negatives are sampled; a row whose label cell is not in `map` (binary) or not a number
/// (real) is a bad row.
public struct LabelColumn: Sendable, Equatable {
    /// What the label is.
    public enum Kind: String, Sendable, CaseIterable {
        /// Two classes, mapped to two numbers by `map` (default `{"0": 0, "1": 1}`); for `--loss log` the
        /// larger number is the positive class.
        case binary
        /// A number to regress (e.g. a 1–5 rating); `map` may rename some cells.
        case real
    }

    /// The header column holding the label.
    public var column: String
    /// Binary or real.
    public var kind: Kind
    /// Cell text → label value.
    public var map: [String: Float]

    /// The label of a cell, or nil when it is not a valid label.
    public func value(of cell: UnsafeBufferPointer<UInt8>) -> Float? {
        if !map.isEmpty, let mapped = map[String(decoding: cell, as: UTF8.self)] { return mapped }
        guard kind == .real, let x = NumericCell.parse(cell) else { return nil }
        let value = Float(x)
        return value.isFinite ? value : nil
    }
}

/// The values of a multi-valued cell: the pieces between separators, empty pieces ignored.
enum MultiCell {
    /// Calls `body` with each non-empty piece of `cell`, in order.
    @inline(__always)
    static func forEachValue(
        in cell: UnsafeBufferPointer<UInt8>, separator: UInt8, _ body: (UnsafeBufferPointer<UInt8>) throws -> Void
    ) rethrows {
        var start = 0
        for i in 0...cell.count where i == cell.count || cell[i] == separator {
            if i > start { try body(UnsafeBufferPointer(rebasing: cell[start..<i])) }
            start = i + 1
        }
    }

    /// The number n of non-empty pieces (`weight: mean` gives each 1/n).
    @inline(__always)
    static func valueCount(in cell: UnsafeBufferPointer<UInt8>, separator: UInt8) -> Int {
        var count = 0
        forEachValue(in: cell, separator: separator) { _ in count += 1 }
        return count
    }
}

/// Strict parsing of the numbers of numeric cells and real labels.
public enum NumericCell {
    /// Why a non-empty numeric cell is a bad row.
    public struct Problem: Error, Sendable, Equatable {
        /// What was wrong, e.g. "expected a number".
        public let message: String
    }

    /// The number of a non-empty numeric cell as the build and `predict` accept it: a plain decimal
    /// (`parse(_:)`) and, for a kept number (`transform` non-nil; buckets pass nil), one whose t(x) is
    /// finite as a 32-bit float.
    @inline(__always)
    public static func number(_ cell: UnsafeBufferPointer<UInt8>, transform: FieldSpec.Transform?) -> Result<Double, Problem> {
        guard let x = parse(cell) else { return .failure(Problem(message: "expected a number")) }
        if let transform, !Float(FieldSpec.transform(x, transform)).isFinite {
            return .failure(Problem(message: "is beyond the range of a 32-bit float after its transform"))
        }
        return .success(x)
    }

    /// The value of a decimal number `[+-]digits[.digits][(e|E)[+-]digits]` (also `.5` and `5.`), or nil for
    /// anything else: empty cells, spaces, `nan`, `inf`, hexadecimal, or a value beyond `Double`'s range.
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
        var i = 0
        let n = bytes.count
        if i < n, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
        let integerStart = i
        while i < n, bytes[i] &- 48 < 10 { i += 1 }
        var digits = i - integerStart
        if i < n, bytes[i] == UInt8(ascii: ".") {
            i += 1
            let fractionStart = i
            while i < n, bytes[i] &- 48 < 10 { i += 1 }
            digits += i - fractionStart
        }
        guard digits > 0 else { return nil }
        if i < n, bytes[i] | 0x20 == UInt8(ascii: "e") {
            i += 1
            if i < n, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            let exponentStart = i
            while i < n, bytes[i] &- 48 < 10 { i += 1 }
            guard i > exponentStart else { return nil }
        }
        guard i == n, n <= 64 else { return nil }
        if let exact = exactValue(bytes) { return exact }
        guard let value = Double(String(decoding: bytes, as: UTF8.self)), value.isFinite else { return nil }
        return value
    }

    /// Exact powers of ten 10⁰…10²² (every one is a `Double` without rounding).
    private static let powersOfTen: [Double] = (0...22).map { k in (0..<k).reduce(1.0) { acc, _ in acc * 10 } }

    /// The value of a well-formed decimal without exponent and with at most 15 digits, computed as
    /// `m / 10^k` from two exact `Double`s: one correctly rounded division, the same result as `strtod`
    /// (Clinger's fast path). Nil for anything else, which goes to `strtod`.
    @inline(__always)
    private static func exactValue(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
        var i = 0
        var negative = false
        if bytes[0] == UInt8(ascii: "-") || bytes[0] == UInt8(ascii: "+") {
            negative = bytes[0] == UInt8(ascii: "-")
            i = 1
        }
        var mantissa: UInt64 = 0
        var digits = 0
        var fraction = -1
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: ".") {
                fraction = 0
            } else if b &- 48 < 10 {
                mantissa = mantissa &* 10 &+ UInt64(b &- 48)
                digits += 1
                if fraction >= 0 { fraction += 1 }
            } else {
                return nil  // an exponent
            }
            i += 1
        }
        guard digits <= 15 else { return nil }
        let value = Double(mantissa) / powersOfTen[max(fraction, 0)]
        return negative ? -value : value
    }

    /// `x` as text: an integer without fraction when x is integral and below 2⁵³ in magnitude, else Swift's
    /// shortest round-trip form.
    public static func integralText(_ x: Double) -> String {
        if x == x.rounded(), abs(x) < 9_007_199_254_740_992 { return String(Int64(x)) }
        return String(x)
    }
}

extension Double {
    /// ln(self).
    @inline(__always) var logarithm: Double { Foundation.log(self) }
    /// ln(1 + self).
    @inline(__always) var onePlusLogarithm: Double { Foundation.log1p(self) }
}
