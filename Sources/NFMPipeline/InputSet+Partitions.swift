import Foundation
import NFMFormat

extension InputSet {
    /// The partitions of the inputs, in input order (see `BuildPartition`): a compressed input or a plain
    /// one of at most `chunk` bytes is one partition; a larger plain file is cut about every `chunk` bytes
    /// at record boundaries (`RecordBoundaries`). Also resolves each input's column mapping as
    /// `forEachRow` does: the first record of every input is read here (a header line or data).
    ///
    /// Every input must be a regular file (standard input cannot be read twice). Throws what
    /// `checkHeaders` throws: `.input` for an empty first input or a bad header, `.io`/`.compression`.
    func partitions(chunk: Int) throws -> [BuildPartition] { try partitions(chunk: chunk, speculative: false).partitions }

    /// `partitions(chunk:)`, or with `speculative`, the cuts of a quoted format found as if it had no quote
    /// byte (`RecordBoundaries.cuts(…, assumingNoQuote:)`: a seek per cut instead of a scan of the whole
    /// file) for every input whose first 64 KiB hold none; `speculated` lists those inputs. Such cuts are
    /// the exact ones when the input holds no quote byte at all: the caller checks that while it reads the
    /// input (`containsByte`) and otherwise starts again from the exact partitions.
    func partitions(chunk: Int, speculative: Bool) throws -> (partitions: [BuildPartition], speculated: [Int]) {
        var speculated: [Int] = []
        var mapping = header ? nil : try HeaderMapping(columns: columns, fields: fields, file: names[0])
        var partitions: [BuildPartition] = []
        for index in paths.indices {
            let (found, compressed) = try firstRecordMapping(input: index)
            if let found { mapping = found }
            guard let mapping else {
                throw NFMError(.input, file: names[0], line: 1, column: 1, "empty file: expected a header line")
            }
            let skips = found != nil
            let size = try PositionedFile(path: paths[index]).size()
            let guess = try speculative && !compressed && size > chunk && format.quote != nil
                && !RecordBoundaries.startHoldsQuote(path: paths[index], format: format)
            if guess { speculated.append(index) }
            let cuts =
                compressed
                ? [] : try RecordBoundaries.cuts(path: paths[index], size: size, chunk: chunk, format: format, assumingNoQuote: guess)
            let starts = [0] + cuts
            for (k, start) in starts.enumerated() {
                let end = k + 1 < starts.count ? starts[k + 1] : nil
                partitions.append(
                    BuildPartition(input: index, start: start, end: end, mapping: mapping, skipsHeader: skips && k == 0))
            }
        }
        return (partitions, speculated)
    }

    /// The mapping found in input `index`'s first record when it is a header line (nil for data or an
    /// empty input), and whether the input is compressed.
    private func firstRecordMapping(input index: Int) throws -> (HeaderMapping?, Bool) {
        struct Stop: Error {}
        let raw = try RawInput(path: paths[index], hashing: false)
        let compressed = raw.compression != .none
        guard header else { return (nil, compressed) }
        let reader = try DelimitedReader(source: raw, name: names[index], format: format, bufferSize: 64 << 10)
        var found: HeaderMapping?
        var sawRecord = false
        do {
            try reader.forEachRecord { row in
                sawRecord = true
                found = try headerMapping(row, input: index)
                throw Stop()
            }
        } catch is Stop {}
        if !sawRecord && index == 0 {
            throw NFMError(.input, file: names[0], line: 1, column: 1, "empty file: expected a header line")
        }
        return (found, compressed)
    }
}
