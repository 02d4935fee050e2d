import Foundation
import NFMFormat

/// A named Float32 tensor of a safetensors file.
public struct SafetensorsTensor: Sendable, Equatable {
    /// The tensor's key in the header.
    public var name: String
    /// Dimensions, outermost first (row-major); `[]` is a scalar holding one value.
    public var shape: [Int]
    /// The values, row-major; `shape`'s product of them (1 for a scalar).
    public var values: [Float]

    /// A tensor named `name` of the given shape and row-major values.
    public init(name: String, shape: [Int], values: [Float]) {
        self.name = name
        self.shape = shape
        self.values = values
    }
}

/// The safetensors format (Hugging Face), Float32 tensors only:
/// ```
/// offset  size  field
///  0      8     N, the header's byte count, u64 little-endian
///  8      N     header: UTF-8 JSON object, padded with spaces to a multiple of 8 bytes
///               { "__metadata__": {string: string},
///                 NAME: {"dtype": "F32", "shape": [d₀, …], "data_offsets": [begin, end]}, … }
///  8+N    …     data: each tensor's values, row-major, f32 little-endian, at [begin, end) of the data
/// ```
/// Tensors are written in the given order, contiguous, with no gap (`end − begin = 4·Πdᵢ`).
public enum Safetensors {
    /// Encodes `tensors` and `metadata` as a safetensors file. Complexity O(total values).
    public static func encode(_ tensors: [SafetensorsTensor], metadata: [String: String]) -> [UInt8] {
        var header = "{\"__metadata__\":{"
        header += metadata.sorted { $0.key < $1.key }.map { "\(jsonString($0.key)):\(jsonString($0.value))" }
            .joined(separator: ",")
        header += "}"
        var offset = 0
        for tensor in tensors {
            let bytes = 4 * tensor.values.count
            header += ",\(jsonString(tensor.name)):{\"dtype\":\"F32\",\"shape\":[\(tensor.shape.map(String.init).joined(separator: ","))],"
            header += "\"data_offsets\":[\(offset),\(offset + bytes)]}"
            offset += bytes
        }
        header += "}"
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }
        var out: [UInt8] = []
        out.reserveCapacity(8 + headerBytes.count + offset)
        out.appendLittleEndian(UInt64(headerBytes.count))
        out.append(contentsOf: headerBytes)
        for tensor in tensors {
            for value in tensor.values { out.appendLittleEndian(value.bitPattern) }
        }
        return out
    }

    /// A JSON string literal for `text` (quotes, backslashes and control characters escaped).
    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// Parses a safetensors file of F32 tensors, checking that the header fits the file, that each
    /// tensor's byte range matches its shape, lies inside the data and that the ranges tile the data
    /// without gap or overlap. Returns the tensors in data order and the metadata. Throws `.checkpoint`
    /// naming `name` and the offending tensor.
    public static func decode(_ bytes: [UInt8], name: String) throws -> (tensors: [SafetensorsTensor], metadata: [String: String]) {
        func fail(_ what: String, field: String? = nil, value: String? = nil) -> NFMError {
            NFMError(.checkpoint, what, at: .init(file: name, field: field, value: value))
        }
        guard bytes.count >= 8 else { throw fail("not a safetensors file: shorter than 8 bytes") }
        let announced = bytes.readLittleEndian(UInt64.self, at: 0)
        guard announced <= UInt64(bytes.count - 8) else {
            throw fail("the header announces more bytes than the file holds", field: "header length", value: "\(announced)")
        }
        let headerEnd = 8 + Int(announced)
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(bytes[8..<headerEnd]))
        } catch {
            throw fail("unreadable JSON header")
        }
        guard let header = object as? [String: Any] else { throw fail("the header is not a JSON object") }
        let metadata = (header["__metadata__"] as? [String: String]) ?? [:]
        let dataSize = bytes.count - headerEnd
        var entries: [(name: String, shape: [Int], begin: Int, end: Int)] = []
        for (key, value) in header where key != "__metadata__" {
            entries.append(try entry(key, value, dataSize: dataSize, fail: fail))
        }
        entries.sort { $0.begin < $1.begin }
        var expected = 0
        var tensors: [SafetensorsTensor] = []
        for entry in entries {
            guard entry.begin == expected else { throw fail("tensor data overlaps or leaves a gap", field: entry.name, value: "\(entry.begin)") }
            expected = entry.end
            var values = [Float](repeating: 0, count: (entry.end - entry.begin) / 4)
            for i in values.indices {
                values[i] = Float(bitPattern: bytes.readLittleEndian(UInt32.self, at: headerEnd + entry.begin + 4 * i))
            }
            tensors.append(SafetensorsTensor(name: entry.name, shape: entry.shape, values: values))
        }
        guard expected == dataSize else { throw fail("the data holds bytes no tensor claims", field: "data", value: "\(dataSize)") }
        return (tensors, metadata)
    }

    /// One header entry, validated against the data size.
    private static func entry(
        _ key: String, _ value: Any, dataSize: Int, fail: (String, String?, String?) -> NFMError
    ) throws -> (name: String, shape: [Int], begin: Int, end: Int) {
        guard let fields = value as? [String: Any], fields["dtype"] as? String == "F32",
            let shape = fields["shape"] as? [Int], let range = fields["data_offsets"] as? [Int], range.count == 2
        else { throw fail("expected {dtype: F32, shape, data_offsets}", key, nil) }
        var count = 1
        for dimension in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard dimension >= 0, !overflow, product <= dataSize else { throw fail("shape exceeds the data", key, "\(shape)") }
            count = product
        }
        guard range[0] >= 0, range[0] <= range[1], range[1] <= dataSize, range[1] - range[0] == 4 * count else {
            throw fail("data_offsets do not match the shape or leave the data", key, "\(range)")
        }
        return (key, shape, range[0], range[1])
    }
}
