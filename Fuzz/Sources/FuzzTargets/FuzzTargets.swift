import Foundation
@testable import NFMFormat
@testable import NFMModel
@testable import NFMPipeline

/// One parser of untrusted bytes each. A target returns normally for any input: a value or an
/// `NFMError` is fine; anything else (a trap, a sanitizer report, a foreign error) is a finding.
public enum FuzzTarget: String, CaseIterable, Sendable {
    case shard, manifest, checkpoint, definition, libfm

    /// Runs the target on `bytes`; true when the input was accepted, false when refused with an `NFMError`.
    @discardableResult
    public func run(_ bytes: [UInt8]) -> Bool {
        do {
            switch self {
            case .shard:
                let block = try ShardCodec.decode(bytes, name: "fuzz.nfms")
                precondition(block.labels.allSatisfy { $0.isFinite })
            case .manifest:
                let manifest = try DatasetManifest.decode(bytes, file: "manifest.json")
                _ = manifest.consistencyProblems(file: "manifest.json")
            case .checkpoint:
                _ = try Checkpoint.decode(bytes, name: "fuzz.nfmc")
            case .definition:
                _ = try DatasetDefinition.parse(text: String(decoding: bytes, as: UTF8.self), file: "fuzz.json")
            case .libfm:
                try LibFMInput.parse(bytes)
            }
            return true
        } catch is NFMError {
            return false
        } catch {
            fatalError("\(self): an error that is not an NFMError: \(error)")
        }
    }
}

/// libFM text read as `LibFMConverter.importFiles` reads an input: `RawInput` (gzip and zstd detected) over
/// a file, whole lines from `DelimitedReader`, `LibFMLine.parse`, then `LibFMScan.add`. The input goes
/// through a file in /dev/shm (tmpfs), written once per execution.
enum LibFMInput {
    static let path = "/dev/shm/nfm-fuzz-libfm-\(getpid()).libfm"

    static func parse(_ bytes: [UInt8]) throws {
        let file = try WritableFile(path: path)
        try file.write(bytes)
        try file.close()
        let reader = try DelimitedReader(
            source: RawInput(path: path), name: path, format: .init(delimiter: 0, quote: nil),
            maximumRecordBytes: LibFMLine.maximumLineBytes)
        var row = LibFMRow()
        var scan = LibFMScan()
        try reader.forEachRecord { record in
            if let problem = record.problem {
                throw NFMError(.input, file: path, line: problem.line, column: problem.column, problem.message)
            }
            guard try LibFMLine.parse(record.raw, into: &row, file: path, line: record.line) else { return }
            precondition(row.label.isFinite && row.indices.count == row.values.count)
            scan.add(row, split: .train)
        }
    }
}
