import NFMFormat

/// The raw inputs of a build, read in the order given as one stream of data rows.
///
/// Each path is a file or `-` (standard input), opened through `RawInput` (gzip and zstd are recognised by
/// their magic bytes and decompressed while streaming) one after another, so at most one input is open.
///
/// Header rule (`header: true`): the **first** input must start with a header line (a missing or empty one
/// is an error). Each later input may start with a header line, recognised when its cells contain every
/// required column (column order may differ per file: each file is mapped on its own), or directly with data,
/// read with the previous input's mapping. So both `split -l` halves and parts that each carry the header
/// build like the whole file. A first line naming at least half but not all of the required columns is a
/// damaged header, an error (`missing header column …`), never silently read as data. With `header: false`
/// the definition's `columns` give the column order of every input.
///
/// An input with only a header, or an empty input after the first, adds no rows (Hadoop- and Spark-style
/// directories hold empty part files); zero data rows over all inputs is the caller's error. Positions in
/// errors name the input (its base name, `<stdin>` for `-`) and count lines per input, in the decompressed
/// stream for compressed input.
///
/// Reading is O(bytes of input) and holds one read buffer; hashing covers the stored (compressed) bytes.
final class InputSet {
    /// The paths as given (`-` for standard input), in reading order.
    let paths: [String]
    /// The name positions use for each input: its base name, or `<stdin>`.
    let names: [String]
    let format: DelimitedReader.Format
    let header: Bool
    let columns: [String]
    let fields: [String]
    let readBufferSize: Int
    /// The sum of the inputs' sizes when every input is a regular file (progress totals), else nil.
    let expectedBytes: Int?
    /// The required column names as bytes, to recognise a later input's header line.
    private let requiredNames: [[UInt8]]
    private(set) var manifestInputs: [DatasetManifest.Input] = []
    private var finishedBytes = 0
    private var current: RawInput?

    /// Checks every path (see ``checkPaths(_:)``) without reading any; throws `.io` for a missing,
    /// unreadable or directory input, `.usage` for no input, `-` twice or one file given twice, and
    /// `.definition` when `header` is false and a field is not among `columns`.
    ///
    /// - Parameter paths: files or `-` (globs already expanded); read one after another, in order.
    init(
        paths: [String], format: DelimitedReader.Format, header: Bool, columns: [String], fields: [String],
        readBufferSize: Int
    ) throws {
        expectedBytes = try InputSet.checkPaths(paths)
        self.paths = paths
        names = paths.map(InputSet.name(of:))
        self.format = format
        self.header = header
        self.columns = columns
        self.fields = fields
        self.readBufferSize = max(readBufferSize, 16)
        requiredNames = columns.map { Array($0.utf8) }
        if !header { _ = try HeaderMapping(columns: columns, fields: fields, file: names[0]) }
    }

    /// The name errors and the manifest use for `path`: `<stdin>` for `-`, else its last path component.
    static func name(of path: String) -> String {
        path == "-" ? "<stdin>" : path.split(separator: "/").last.map(String.init) ?? path
    }

    /// Stored bytes read so far over all inputs (progress).
    var bytesRead: Int { finishedBytes + (current?.storedBytes ?? 0) }

    /// Calls `body` once per data row of every input, in order, with the row, the mapping of its input's
    /// columns and the input's name (for error positions). Header lines are consumed and mapped here.
    ///
    /// Throws `.input` for an empty first input (with `header`), a malformed or damaged header, `.io` or
    /// `.compression` naming an input that cannot be read or decompressed, and whatever `body` throws.
    /// Call once: inputs (standard input above all) are read once.
    func forEachRow(_ body: (_ row: DelimitedReader.Record, _ mapping: HeaderMapping, _ file: String) throws -> Void)
        throws
    {
        var mapping = header ? nil : try HeaderMapping(columns: columns, fields: fields, file: names[0])
        for index in paths.indices {
            let name = names[index]
            let input = try RawInput(path: paths[index])
            current = input
            let reader = try DelimitedReader(source: input, name: name, format: format, bufferSize: readBufferSize)
            var first = true
            try reader.forEachRecord { row in
                if first {
                    first = false
                    if let found = try headerMapping(row, input: index) {
                        mapping = found
                        return
                    }
                }
                guard let mapping else { return }  // unreachable: the first input's header sets it
                try body(row, mapping, name)
            }
            if first && header && index == 0 {
                throw NFMError(.input, file: name, line: 1, column: 1, "empty file: expected a header line")
            }
            manifestInputs.append(.init(name: name, bytes: input.storedBytes, sha256: input.sha256()))
            finishedBytes += input.storedBytes
            current = nil
        }
    }

    /// The mapping of `row`, the first record of input `index`, when it is a header line; nil for data.
    ///
    /// The first input's first record is always the header (with `header`). A later input's is a header
    /// when it names every required column, an error (the missing column) when it names at least half
    /// of them, and data otherwise.
    func headerMapping(_ row: DelimitedReader.Record, input index: Int) throws -> HeaderMapping? {
        guard header else { return nil }
        let file = names[index]
        if index > 0 {
            guard row.problem == nil else { return nil }
            let named = requiredNames.count { name in
                (0..<row.fieldCount).contains { row.field($0).elementsEqual(name) }
            }
            guard named > 0, named * 2 >= requiredNames.count else { return nil }
        }
        return try HeaderMapping(header: row, required: columns, fields: fields, file: file)
    }
}
