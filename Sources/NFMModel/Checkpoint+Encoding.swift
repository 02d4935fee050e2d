import Foundation
import NFMFormat

extension DatasetFingerprint {
    /// Checks the field encodings a checkpoint records, before anything uses them: per field
    /// `0 ≤ offset`, `0 ≤ cardinality`, `kind` nil, `numeric` or `multi`, `0 ≤ oov < cardinality`, and
    /// statistics finite with `stddev > 0`. Throws `.checkpoint` naming the file and the field. O(fields).
    /// (Whether they fit the embedded definition is checked when raw rows are encoded,
    /// `Prediction.encoder(for:)`.)
    func checkEncodings(file: String) throws {
        for (f, field) in fields.enumerated() {
            func fail(_ key: String, _ value: String, _ what: String) -> NFMError {
                NFMError(.checkpoint, what, at: .init(file: file, field: "dataset.fields[\(f)].\(key)", value: NFMError.excerpt(value)))
            }
            guard field.offset >= 0, field.cardinality >= 0 else {
                throw fail("cardinality", "\(field.offset) + \(field.cardinality)", "offsets and cardinalities are not negative")
            }
            if let kind = field.kind, kind != "numeric", kind != "multi" {
                throw fail("kind", kind, "expected numeric or multi (absent: categorical)")
            }
            if let oov = field.oov, !(0..<field.cardinality).contains(oov) {
                throw fail("oov", "\(oov)", "the OOV feature lies outside the field's \(field.cardinality) features")
            }
            if let mean = field.mean, !mean.isFinite { throw fail("mean", "\(mean)", "expected a finite mean") }
            if let stddev = field.stddev, !(stddev.isFinite && stddev > 0) {
                throw fail("stddev", "\(stddev)", "expected a positive finite standard deviation")
            }
        }
    }
}
