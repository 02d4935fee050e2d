import Foundation
import NFMFormat
import NFMPipeline

extension Prediction {
    /// Scores a libFM text file (`label index:value …`, space-separated, as `nfm export-libfm` writes and
    /// `nfm import-libfm` reads) and calls `output(line, prediction)` per row, in file order. Labels are
    /// read and ignored; blank lines are not rows (as in `import-libfm`). Feature indices are the model's
    /// (an import keeps libFM indices as they are). An index ≥ the model's feature count is handled by
    /// `unseen`: `fail` throws `.input` at the entry's file:line:column, `ignore` drops the entry, `skip`
    /// leaves the row out. Complexity O(entries).
    public static func runLibFM(
        checkpoint: Checkpoint, path: String, unseen: UnseenPolicy, clip: Bool = true, batchRows: Int = 1024,
        output: (_ line: Int, _ prediction: Float) throws -> Void
    ) throws -> Report {
        let name = (path as NSString).lastPathComponent
        let featureCount = checkpoint.model.config.featureCount
        let batch = RowBatch(checkpoint: checkpoint, capacity: batchRows, clip: clip, withValues: true)
        var report = Report()
        let reader = try DelimitedReader(path: path, format: .init(delimiter: 0x20, quote: nil))
        try reader.forEachRecord { record in
            if let problem = record.problem {
                throw NFMError(.input, file: name, line: problem.line, column: problem.column, problem.message)
            }
            let rowStart = batch.indices.count
            var sawLabel = false
            var unseenInRow = 0
            for k in 0..<record.fieldCount where !record.field(k).isEmpty {
                let column = record.column(ofField: k)
                guard sawLabel else {
                    guard let label = Float(record.string(k)), label.isFinite else {
                        throw NFMError(.input, file: name, line: record.line, column: column, "expected a numeric label")
                    }
                    sawLabel = true
                    continue
                }
                let (index, value) = try entry(record.field(k), name: name, line: record.line, column: column)
                guard index < featureCount else {
                    unseenInRow += 1
                    if unseen == .fail {
                        throw NFMError(
                            .input, file: name, line: record.line, column: column,
                            "feature index \(index) is outside the model's \(featureCount) features (use --unseen ignore)")
                    }
                    continue
                }
                batch.indices.append(UInt32(index))
                batch.values.append(value)
            }
            guard sawLabel else { return }
            report.rows += 1
            if unseenInRow > 0 {
                report.rowsWithUnseen += 1
                report.unseenByField["index", default: 0] += unseenInRow
                if unseen == .skip {
                    batch.indices.removeSubrange(rowStart...)
                    batch.values.removeSubrange(rowStart...)
                    report.skipped += 1
                    return
                }
            }
            try batch.endRow(line: record.line, output)
        }
        try batch.flush(output)
        report.written = report.rows - report.skipped
        return report
    }

    /// One `index:value` token: a non-negative decimal index (at most 2³²−2) and a finite value.
    private static func entry(_ token: UnsafeBufferPointer<UInt8>, name: String, line: Int, column: Int) throws -> (Int, Float) {
        guard let colon = token.firstIndex(of: 0x3A),
            let index = UInt32(String(decoding: token[..<colon], as: UTF8.self)), index < .max,
            let value = Float(String(decoding: token[(colon + 1)...], as: UTF8.self)), value.isFinite
        else {
            throw NFMError(
                .input, file: name, line: line, column: column, "expected 'index:value' with a non-negative integer index")
        }
        return (Int(index), value)
    }
}
