import Foundation
import NFMTestSupport

@testable import NFMPipeline

/// Generating synthetic logs and reading them back with the builder's RFC 4180 reader, for the shape tests.
enum SyntheticLogSupport {
    /// A DeepCTR sample of `../shared/datasets/deepctr-samples`, or nil when absent (tests skip).
    static func sample(_ name: String) -> String? {
        let path = URL(fileURLWithPath: TestSupport.packageRoot).deletingLastPathComponent().path
            + "/shared/datasets/deepctr-samples/" + name
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    /// The log's bytes and the sizes of the blocks the writer handed over.
    static func generate(_ kind: SyntheticLogGenerator.Kind, rows: Int, seed: UInt64) throws -> (bytes: [UInt8], blocks: [Int]) {
        var bytes: [UInt8] = []
        var blocks: [Int] = []
        try SyntheticLogGenerator.write(kind: kind, rows: rows, seed: seed) { block in
            bytes += block
            blocks.append(block.count)
        }
        return (bytes, blocks)
    }

    /// Every record of a CSV file (header first), parsed by `DelimitedReader`; a record the reader flags
    /// is returned as `["PROBLEM: …"]` so that format checks fail on it.
    static func records(path: String) throws -> [[String]] {
        let reader = try DelimitedReader(path: path, format: .init(delimiter: 44, quote: 34))
        var rows: [[String]] = []
        try reader.forEachRecord { record in
            if let problem = record.problem {
                rows.append(["PROBLEM: line \(problem.line): \(problem.message)"])
            } else {
                rows.append((0..<record.fieldCount).map { record.string($0) })
            }
        }
        return rows
    }

    /// The records of CSV bytes (written to a scratch file first).
    static func records(_ bytes: [UInt8]) throws -> [[String]] {
        try records(path: TestSupport.writeBytes(bytes, named: "log.csv", in: TestSupport.temporaryDirectory()))
    }

    /// The share of the most frequent non-empty value among `count` rows, the number of distinct values,
    /// of values seen once and of values seen fewer than 10 times.
    static func skew(_ cells: [String], rows count: Int) -> (top: Double, distinct: Int, singletons: Int, rare: Int) {
        var counts: [String: Int] = [:]
        for cell in cells where !cell.isEmpty { counts[cell, default: 0] += 1 }
        let top = Double(counts.values.max() ?? 0) / Double(count)
        return (top, counts.count, counts.values.filter { $0 == 1 }.count, counts.values.filter { $0 < 10 }.count)
    }
}
