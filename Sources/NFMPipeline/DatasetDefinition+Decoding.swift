import NFMFormat

extension DatasetDefinition {
    /// The keys a definition may hold, per level, in the order messages list them.
    enum Keys {
        static let root = [
            "name", "input", "columns", "fields", "labels", "negatives", "split", "seed", "shardRows", "zstdLevel",
        ]
        static let input = ["delimiter", "quote", "header"]
        static let labels = ["positive", "negative"]
        static let negatives = ["field", "perPositive", "rule", "rules"]
        static let split = ["train", "validation", "test"]
    }

    /// A `.definition` error in `file` at `location`, naming the dotted key path `key` and the offending
    /// `value` when there are ones (rendered `FILE:LINE:COLUMN: field KEY = VALUE: what`).
    static func error(
        _ what: String, file: String, at location: SourceLocation?, key: String?, value: String? = nil
    ) -> NFMError {
        NFMError(
            .definition, what,
            at: NFMError.Position(
                file: file.isEmpty ? nil : file, line: location?.line, column: location?.column, field: key,
                value: value))
    }

    /// Builds a definition from a parsed JSON tree: every key known (with a "did you mean" for near
    /// misses), every value of the right type; ranges and cross-references are `validate()`'s job.
    static func decode(_ root: JSONNode, file: String) throws -> DatasetDefinition {
        var locations: [String: SourceLocation] = [:]
        let top = try DefinitionObject(root, path: "", keys: Keys.root, file: file, locations: &locations)
        let inputObject = try top.object("input", keys: Keys.input, locations: &locations)
        let input = Input(
            delimiter: try inputObject.string("delimiter", &locations),
            quote: try inputObject.optionalString("quote", &locations),
            header: try inputObject.bool("header", &locations))
        let labelObject = try top.object("labels", keys: Keys.labels, locations: &locations)
        let labels = Labels(
            positive: try labelObject.float("positive", &locations),
            negative: try labelObject.float("negative", &locations))
        let negativeObject = try top.object("negatives", keys: Keys.negatives, locations: &locations)
        let negatives = Negatives(
            field: try negativeObject.string("field", &locations),
            perPositive: try negativeObject.integer("perPositive", Int.self, &locations),
            rule: try negativeObject.string("rule", &locations),
            rules: try negativeObject.stringListMap("rules", &locations))
        let splitObject = try top.object("split", keys: Keys.split, locations: &locations)
        let split = SplitRatios(
            train: try splitObject.double("train", &locations),
            validation: try splitObject.double("validation", &locations),
            test: try splitObject.double("test", &locations))
        var definition = DatasetDefinition(
            name: try top.string("name", &locations), input: input,
            columns: try top.strings("columns", &locations), fields: try top.strings("fields", &locations),
            labels: labels, negatives: negatives, split: split, seed: try top.integer("seed", UInt64.self, &locations),
            shardRows: try top.integer("shardRows", Int.self, &locations),
            zstdLevel: try top.integer("zstdLevel", Int.self, &locations))
        definition.sourceFile = file
        definition.locations = locations
        return definition
    }
}

/// One JSON object of a definition, checked against the keys it may hold. Reading a member records
/// where its value is (`locations`, by dotted key path) so later checks can point at it.
struct DefinitionObject {
    let path: String
    let file: String
    let location: SourceLocation
    private let members: [String: JSONNode.Member]

    init(
        _ node: JSONNode, path: String, keys: [String], file: String, locations: inout [String: SourceLocation]
    ) throws {
        self.path = path
        self.file = file
        location = node.location
        guard case .object(let list) = node.value else {
            throw DatasetDefinition.error(
                "\(path.isEmpty ? "a definition " : "")must be an object, found \(node.kindName)", file: file,
                at: node.location, key: path.isEmpty ? nil : path)
        }
        for member in list where !keys.contains(member.key) {
            let keyPath = path.isEmpty ? member.key : path + "." + member.key
            let hint =
                KeySuggestion.nearest(to: member.key, among: keys).map { "did you mean '\($0)'?" }
                ?? "expected one of \(keys.joined(separator: ", "))"
            throw DatasetDefinition.error(
                "unknown key; \(hint)", file: file, at: member.keyLocation, key: NFMError.excerpt(keyPath))
        }
        members = Dictionary(uniqueKeysWithValues: list.map { ($0.key, $0) })
        if !path.isEmpty { locations[path] = node.location }
    }

    func keyPath(_ key: String) -> String { path.isEmpty ? key : path + "." + key }

    private func fail(_ key: String, _ what: String, at node: JSONNode, value: String? = nil) -> NFMError {
        DatasetDefinition.error(what, file: file, at: node.location, key: keyPath(key), value: value)
    }

    /// The member's value; a missing key is an error pointing at the enclosing object.
    func node(_ key: String, _ locations: inout [String: SourceLocation]) throws -> JSONNode {
        guard let member = members[key] else {
            throw DatasetDefinition.error("missing key", file: file, at: location, key: keyPath(key))
        }
        locations[keyPath(key)] = member.value.location
        return member.value
    }

    func object(_ key: String, keys: [String], locations: inout [String: SourceLocation]) throws -> DefinitionObject {
        try DefinitionObject(node(key, &locations), path: keyPath(key), keys: keys, file: file, locations: &locations)
    }

    func string(_ key: String, _ locations: inout [String: SourceLocation]) throws -> String {
        let value = try node(key, &locations)
        guard case .string(let text) = value.value else { throw fail(key, "must be a string, found \(value.kindName)", at: value) }
        return text
    }

    /// A string, or nil when the key is absent or `null`.
    func optionalString(_ key: String, _ locations: inout [String: SourceLocation]) throws -> String? {
        guard members[key] != nil else { return nil }
        let value = try node(key, &locations)
        switch value.value {
        case .null: return nil
        case .string(let text): return text
        default: throw fail(key, "must be a string or null, found \(value.kindName)", at: value)
        }
    }

    func bool(_ key: String, _ locations: inout [String: SourceLocation]) throws -> Bool {
        let value = try node(key, &locations)
        guard case .bool(let flag) = value.value else { throw fail(key, "must be true or false, found \(value.kindName)", at: value) }
        return flag
    }

    /// An integer written without fraction or exponent that fits `T` (checked digit by digit).
    func integer<T: FixedWidthInteger>(_ key: String, _: T.Type, _ locations: inout [String: SourceLocation]) throws -> T {
        let value = try node(key, &locations)
        guard case .number(let text) = value.value else {
            throw fail(key, "must be an integer, found \(value.kindName)", at: value)
        }
        guard let number = T(text, radix: 10) else {
            let range = "\(T.min)…\(T.max)"
            let isIntegral = !text.contains { $0 == "." || $0 == "e" || $0 == "E" }
            throw fail(
                key, isIntegral ? "outside \(range)" : "must be an integer (no fraction or exponent)", at: value,
                value: text)
        }
        return number
    }

    func double(_ key: String, _ locations: inout [String: SourceLocation]) throws -> Double {
        let value = try node(key, &locations)
        guard case .number(let text) = value.value else { throw fail(key, "must be a number, found \(value.kindName)", at: value) }
        guard let number = Double(text), number.isFinite else {
            throw fail(key, "too large for a 64-bit float", at: value, value: text)
        }
        return number
    }

    /// A number that is finite as a 32-bit float (labels are stored as `Float`).
    func float(_ key: String, _ locations: inout [String: SourceLocation]) throws -> Float {
        let number = try double(key, &locations)
        guard Float(number).isFinite else {
            throw fail(key, "too large for a 32-bit float", at: try node(key, &locations), value: "\(number)")
        }
        return Float(number)
    }

    /// An array of strings; each element's location is recorded as `key[i]`.
    func strings(_ key: String, _ locations: inout [String: SourceLocation]) throws -> [String] {
        let value = try node(key, &locations)
        return try DefinitionObject.strings(value, path: keyPath(key), file: file, &locations)
    }

    static func strings(
        _ value: JSONNode, path: String, file: String, _ locations: inout [String: SourceLocation]
    ) throws -> [String] {
        guard case .array(let elements) = value.value else {
            throw DatasetDefinition.error(
                "must be an array of strings, found \(value.kindName)", file: file, at: value.location, key: path)
        }
        var texts: [String] = []
        for (index, element) in elements.enumerated() {
            let elementPath = "\(path)[\(index)]"
            guard case .string(let text) = element.value else {
                throw DatasetDefinition.error(
                    "must be a string, found \(element.kindName)", file: file, at: element.location, key: elementPath)
            }
            locations[elementPath] = element.location
            texts.append(text)
        }
        return texts
    }

    /// An object whose (free-form) keys map to arrays of strings, e.g. `negatives.rules`.
    func stringListMap(_ key: String, _ locations: inout [String: SourceLocation]) throws -> [String: [String]] {
        let value = try node(key, &locations)
        guard case .object(let list) = value.value else {
            throw fail(key, "must be an object of named field lists, found \(value.kindName)", at: value)
        }
        var map: [String: [String]] = [:]
        for member in list {
            let memberPath = keyPath(key) + "." + member.key
            locations[memberPath] = member.value.location
            map[member.key] = try DefinitionObject.strings(member.value, path: memberPath, file: file, &locations)
        }
        return map
    }
}
