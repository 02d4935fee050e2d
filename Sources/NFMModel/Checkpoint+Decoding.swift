import Foundation
import NFMFormat

extension Checkpoint {
    /// Reads and decodes a checkpoint file (`decode`). A missing file is `.io`; a FIFO, device or
    /// directory is refused without blocking.
    public static func load(path: String) throws -> Checkpoint {
        try decode(ReadableFile(path: path).readToEnd(), name: path)
    }

    /// Decodes the bytes of a checkpoint file called `name` (used in errors), trusting nothing unchecked.
    ///
    /// Order: magic; the two lengths H and P, range-checked against the file size (96 + H + P = size, no
    /// overflow); the SHA-256 over bytes [96, size) — before any other header field is read; the version;
    /// the reserved bytes; the JSON header; the model configuration (`validate`, and every tensor size it implies, computed
    /// with checked arithmetic, must equal the header's tensor list, whose 4-byte elements fill P exactly)
    /// — only then is the model allocated; finally every weight must be finite (`.diverged`, exit 2).
    /// Any byte string gives a checkpoint or an `NFMError`; it never traps. O(size).
    public static func decode(_ bytes: [UInt8], name: String) throws -> Checkpoint {
        func fail(_ field: String, _ value: any CustomStringConvertible, _ what: String) -> NFMError {
            NFMError(.checkpoint, what, at: .init(file: name, field: field, value: NFMError.excerpt("\(value)")))
        }
        guard bytes.count >= prefixSize, Array(bytes[0..<8]) == magic else {
            throw fail("magic", "\(min(bytes.count, 8)) bytes", "not an nfm checkpoint (bad magic or too short)")
        }
        let body = UInt64(bytes.count - prefixSize)
        let declaredHeader = bytes.readLittleEndian(UInt64.self, at: 16)
        let declaredPayload = bytes.readLittleEndian(UInt64.self, at: 24)
        guard declaredHeader <= body, declaredPayload == body - declaredHeader else {
            throw fail(
                "headerBytes", "\(declaredHeader) + payloadBytes \(declaredPayload)",
                "truncated or padded: the file holds \(body) bytes after the 96-byte prefix")
        }
        let (headerBytes, payloadBytes) = (Int(declaredHeader), Int(declaredPayload))
        let stored = String(decoding: bytes[32..<96], as: UTF8.self)
        let actual = bytes.withUnsafeBytes { SHA256.hexDigest(of: UnsafeRawBufferPointer(rebasing: $0[prefixSize...])) }
        guard stored == actual else {
            throw fail("sha256", NFMError.excerpt(stored), "checksum mismatch (the file is corrupted): its bytes hash to \(actual)")
        }
        let version = bytes.readLittleEndian(UInt32.self, at: 8)
        guard readableVersions.contains(version) else {
            throw fail(
                "version", version,
                "unsupported checkpoint version \(version) (this build reads versions \(readableVersions.lowerBound)–\(readableVersions.upperBound); a newer nfm wrote it?)")
        }
        let reserved = bytes.readLittleEndian(UInt32.self, at: 12)
        guard reserved == 0 else { throw fail("reserved", reserved, "the reserved bytes 12–15 are 0") }
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: Data(bytes[prefixSize..<prefixSize + headerBytes]))
        } catch {
            throw fail("header", "\(headerBytes) bytes", "unreadable header (\(NFMError.excerpt("\(error)")))")
        }
        do { try header.config.validate() } catch let error as NFMError {
            throw fail("config", NFMError.excerpt(error.message), "invalid model configuration")
        }
        try checkTensorSizes(header, payloadBytes: payloadBytes, fail)
        try header.dataset.checkEncodings(file: name)
        let model = Model(config: header.config)
        let tensors = model.namedTensors
        guard tensors.map(\.name) == header.tensors.map(\.name),
            zip(tensors, header.tensors).allSatisfy({ $0.buffer.count == $1.count })
        else { throw fail("tensors", header.tensors.count, "the tensors do not match the model configuration") }
        try readWeights(bytes, from: prefixSize + headerBytes, into: tensors, name: name)
        model.prepareInference()
        var checkpoint = Checkpoint(
            model: model, dataset: header.dataset, training: header.training, definition: header.definition,
            vocabularies: header.vocabularies)
        checkpoint.header = header
        return checkpoint
    }

    /// Fills `tensors` with the Float32 weights starting at `offset`; a NaN or ±∞ weight is `.diverged`.
    private static func readWeights(
        _ bytes: [UInt8], from offset: Int, into tensors: [(name: String, buffer: FloatBuffer)], name: String
    ) throws {
        var offset = offset
        for (tensorName, buffer) in tensors {
            for i in 0..<buffer.count {
                let weight = Float(bitPattern: bytes.readLittleEndian(UInt32.self, at: offset))
                guard weight.isFinite else {
                    throw NFMError(
                        .diverged, "the checkpoint holds a non-finite weight (the run diverged); retrain with a lower --lr",
                        at: .init(file: name, field: "\(tensorName)[\(i)]", value: "\(weight)"))
                }
                buffer[i] = weight
                offset += 4
            }
        }
    }

    /// Checks, before any allocation, that the configuration's tensor sizes (checked arithmetic) equal the
    /// header's tensor list and that their Float32 elements fill the payload exactly.
    private static func checkTensorSizes(
        _ header: Header, payloadBytes: Int, _ fail: (String, any CustomStringConvertible, String) -> NFMError
    ) throws {
        guard header.config.kind != .lr || header.config.factors == 0 else {
            throw fail("config.factors", header.config.factors, "an LR model has no embeddings (factors 0)")
        }
        guard header.config.hiddenDropout.count == header.config.layers.count else {
            throw fail("config.hiddenDropout", header.config.hiddenDropout.count, "one dropout ratio per hidden layer")
        }
        guard let implied = impliedTensorCounts(header.config) else {
            throw fail("config", header.config.summary, "tensor sizes overflow")
        }
        let declared = header.tensors.map(\.count)
        guard implied == declared else {
            throw fail(
                "tensors", "\(NFMError.excerpt("\(declared)"))",
                "the configuration implies tensors of \(NFMError.excerpt("\(implied)")) elements")
        }
        var total = 0
        for count in implied {
            let (sum, overflow) = total.addingReportingOverflow(count)
            guard !overflow, sum <= payloadBytes / 4 else {
                throw fail("payloadBytes", payloadBytes, "the tensors need more than the payload holds")
            }
            total = sum
        }
        guard 4 * total == payloadBytes else {
            throw fail("payloadBytes", payloadBytes, "the tensors take \(4 * total) bytes")
        }
    }

    /// Element counts of `Model.namedTensors` for `config`, in order, or nil on overflow (mirrors
    /// `Model.init`; the tensors are matched by name once the model exists).
    static func impliedTensorCounts(_ c: ModelConfig) -> [Int]? {
        func product(_ a: Int, _ b: Int) -> Int? {
            let (value, overflow) = a.multipliedReportingOverflow(by: b)
            return overflow || a < 0 || b < 0 ? nil : value
        }
        let k = c.factors
        guard let embedding = product(c.featureCount, k) else { return nil }
        var counts = [1]
        if c.kind.hasLinearPart { counts.append(c.featureCount) }
        if c.kind != .lr { counts.append(embedding) }
        if c.kind == .hofm { counts.append(embedding) }
        if c.batchNorm && (c.kind == .nfm || c.kind == .fm) { counts += [k, k, k, k] }
        guard let concat = product(c.fieldCount, k) else { return nil }
        switch c.kind {
        case .nfm, .wideDeep:
            var input = c.kind == .nfm ? k : concat
            for width in c.layers {
                guard let weight = product(input, width) else { return nil }
                counts += [weight, width] + (c.batchNorm ? [width, width, width, width] : [])
                input = width
            }
        case .deepCross:
            for hidden in c.layers {
                guard let weight = product(concat, hidden) else { return nil }
                counts += [weight, hidden, weight, concat]
            }
        case .fm, .lr, .hofm:
            break
        }
        if c.kind != .lr && c.kind != .hofm { counts.append(c.outputWidth) }
        return counts
    }
}
