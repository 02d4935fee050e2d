import NFMFormat

extension DatasetDefinition {
    /// The keys a definition may hold, per level, in the order messages list them.
    enum Keys {
        static let root = [
            "name", "input", "columns", "fields", "label", "labels", "negatives", "minCount", "split", "seed",
            "shardRows", "zstdLevel",
        ]
        static let input = ["delimiter", "quote", "header"]
        static let label = ["column", "type", "map"]
        static let labels = ["positive", "negative"]
        static let negatives = ["field", "perPositive", "rule", "rules"]
        static let split = ["train", "validation", "test"]
        static let field = [
            "name", "type", "minCount", "missing", "transform", "bucketize", "boundaries", "separator", "weight",
        ]
        /// Field keys that only some kinds accept.
        static let fieldKeysByKind: [String: [FieldSpec.Kind]] = [
            "transform": [.numeric], "bucketize": [.numeric], "boundaries": [.numeric], "separator": [.multi],
            "weight": [.multi], "missing": [.categorical, .numeric], "minCount": [.categorical, .numeric, .multi],
        ]
    }

    /// The values of optional keys that a definition leaves out.
    public enum Defaults {
        /// `input.quote`: RFC 4180's double quote (`null` turns quoting off).
        public static let quote = "\""
        /// `input.header`: the first line names the columns.
        public static let header = true
        /// `minCount`: keep every value.
        public static let minCount = 1
        /// `split`: 70 / 20 / 10.
        public static let split = SplitRatios(train: 0.7, validation: 0.2, test: 0.1)
        /// `seed`: the paper's year.
        public static let seed: UInt64 = 2017
        /// `shardRows`: 2¹⁶ rows per shard.
        public static let shardRows = 65_536
        /// `zstdLevel`: zstd's default level.
        public static let zstdLevel = 3
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
    /// misses), every value of the right type, absent optional keys set to `Defaults`; ranges and
    /// cross-references are `validate()`'s job.
    static func decode(_ root: JSONNode, file: String) throws -> DatasetDefinition {
        var locations: [String: SourceLocation] = [:]
        let top = try DefinitionObject(root, path: "", keys: Keys.root, file: file, locations: &locations)
        let inputObject = try top.object("input", keys: Keys.input, locations: &locations)
        let input = Input(
            delimiter: try inputObject.string("delimiter", &locations),
            quote: inputObject.has("quote") ? try inputObject.optionalString("quote", &locations) : Defaults.quote,
            header: inputObject.has("header") ? try inputObject.bool("header", &locations) : Defaults.header)
        let minCount = top.has("minCount") ? try top.integer("minCount", Int.self, &locations) : Defaults.minCount
        let specs = try decodeFields(top, minCount: minCount, &locations)
        let label = top.has("label") ? try decodeLabel(top, &locations) : nil
        let labels = top.has("labels") ? try decodeLabels(top, &locations) : nil
        let negatives = top.has("negatives") ? try decodeNegatives(top, &locations) : nil
        let split = top.has("split") ? try decodeSplit(top, &locations) : Defaults.split
        let names = specs.map(\.name)
        let columns =
            top.has("columns") || !input.header
            ? try top.strings("columns", &locations) : names + (label.map { names.contains($0.column) ? [] : [$0.column] } ?? [])
        var definition = DatasetDefinition(
            name: try top.string("name", &locations), input: input, columns: columns, fields: names,
            fieldSpecs: specs, labels: labels, negatives: negatives, label: label, minCount: minCount, split: split,
            seed: top.has("seed") ? try top.integer("seed", UInt64.self, &locations) : Defaults.seed,
            shardRows: top.has("shardRows") ? try top.integer("shardRows", Int.self, &locations) : Defaults.shardRows,
            zstdLevel: top.has("zstdLevel") ? try top.integer("zstdLevel", Int.self, &locations) : Defaults.zstdLevel)
        definition.sourceFile = file
        definition.locations = locations
        return definition
    }

    private static func decodeLabels(_ top: DefinitionObject, _ locations: inout [String: SourceLocation]) throws -> Labels {
        let object = try top.object("labels", keys: Keys.labels, locations: &locations)
        return Labels(positive: try object.float("positive", &locations), negative: try object.float("negative", &locations))
    }

    private static func decodeNegatives(_ top: DefinitionObject, _ locations: inout [String: SourceLocation]) throws
        -> Negatives
    {
        let object = try top.object("negatives", keys: Keys.negatives, locations: &locations)
        return Negatives(
            field: try object.string("field", &locations),
            perPositive: try object.integer("perPositive", Int.self, &locations),
            rule: try object.string("rule", &locations),
            rules: try object.stringListMap("rules", &locations))
    }

    private static func decodeSplit(_ top: DefinitionObject, _ locations: inout [String: SourceLocation]) throws
        -> SplitRatios
    {
        let object = try top.object("split", keys: Keys.split, locations: &locations)
        return SplitRatios(
            train: try object.double("train", &locations), validation: try object.double("validation", &locations),
            test: try object.double("test", &locations))
    }

    /// `label`: the column, `type` (`binary` by default) and `map` (binary: `{"0": 0, "1": 1}` by default).
    private static func decodeLabel(_ top: DefinitionObject, _ locations: inout [String: SourceLocation]) throws
        -> LabelColumn
    {
        let object = try top.object("label", keys: Keys.label, locations: &locations)
        let kind = object.has("type") ? try object.choice("type", LabelColumn.Kind.self, &locations) : .binary
        var map = object.has("map") ? try object.numberMap("map", &locations) : [:]
        if kind == .binary && !object.has("map") { map = ["0": 0, "1": 1] }
        return LabelColumn(column: try object.string("column", &locations), kind: kind, map: map)
    }

    /// `fields`: each a column name (categorical with the default `minCount`) or a `FieldSpec` object.
    private static func decodeFields(
        _ top: DefinitionObject, minCount: Int, _ locations: inout [String: SourceLocation]
    ) throws -> [FieldSpec] {
        let node = try top.node("fields", &locations)
        guard case .array(let elements) = node.value else {
            throw DatasetDefinition.error(
                "must be an array of field names or objects, found \(node.kindName)", file: top.file,
                at: node.location, key: "fields")
        }
        return try elements.enumerated().map { index, element in
            let path = "fields[\(index)]"
            locations[path] = element.location
            switch element.value {
            case .string(let name): return .categorical(name, minCount: minCount)
            case .object:
                let object = try DefinitionObject(element, path: path, keys: Keys.field, file: top.file, locations: &locations)
                return try decodeField(object, minCount: minCount, &locations)
            default:
                throw DatasetDefinition.error(
                    "must be a field name or an object, found \(element.kindName)", file: top.file, at: element.location,
                    key: path)
            }
        }
    }

    /// One field object; a key that its type does not use is an error naming the key.
    private static func decodeField(
        _ object: DefinitionObject, minCount: Int, _ locations: inout [String: SourceLocation]
    ) throws -> FieldSpec {
        let kind = object.has("type") ? try object.choice("type", FieldSpec.Kind.self, &locations) : .categorical
        for (key, kinds) in Keys.fieldKeysByKind.sorted(by: { $0.key < $1.key }) where object.has(key) && !kinds.contains(kind) {
            throw object.failure(
                key, "does not apply to a \(kind.rawValue) field (only to \(kinds.map(\.rawValue).joined(separator: ", ")))",
                locations: &locations)
        }
        var spec = FieldSpec.categorical(try object.string("name", &locations), minCount: minCount)
        spec.kind = kind
        if object.has("minCount") { spec.minCount = try object.integer("minCount", Int.self, &locations) }
        if kind == .numeric { spec.missing = .zero }
        if object.has("missing") { spec.missing = try object.choice("missing", FieldSpec.Missing.self, &locations) }
        if object.has("transform") { spec.transform = try object.choice("transform", FieldSpec.Transform.self, &locations) }
        if object.has("bucketize") {
            let name = try object.string("bucketize", &locations)
            guard name == "log2-squared" else {
                throw object.failure("bucketize", "must be \"log2-squared\" (or give \"boundaries\")", value: name, locations: &locations)
            }
            spec.bucketing = .log2Squared
        }
        if object.has("boundaries") { spec.bucketing = .boundaries(try object.numbers("boundaries", &locations)) }
        if object.has("separator") { spec.separator = try object.string("separator", &locations) }
        if object.has("weight") { spec.weight = try object.choice("weight", FieldSpec.Weight.self, &locations) }
        return spec
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

    /// Whether the object has `key` (optional keys are read only when present).
    func has(_ key: String) -> Bool { members[key] != nil }

    /// A `.definition` error at the value of `key` (which must be present).
    func failure(_ key: String, _ what: String, value: String? = nil, locations: inout [String: SourceLocation]) -> NFMError {
        guard let member = members[key] else { return DatasetDefinition.error(what, file: file, at: location, key: keyPath(key)) }
        return fail(key, what, at: member.value, value: value)
    }

    /// A string naming one case of `T` (`"type": "numeric"`); others are errors listing the choices.
    func choice<T: RawRepresentable & CaseIterable>(_ key: String, _: T.Type, _ locations: inout [String: SourceLocation])
        throws -> T where T.RawValue == String
    {
        let text = try string(key, &locations)
        guard let value = T(rawValue: text) else {
            let names = T.allCases.map(\.rawValue)
            let hint = KeySuggestion.nearest(to: text, among: names).map { "; did you mean '\($0)'?" } ?? ""
            throw failure(key, "must be one of \(names.joined(separator: ", "))\(hint)", value: NFMError.excerpt(text), locations: &locations)
        }
        return value
    }

    /// An array of numbers (finite as 64-bit floats).
    func numbers(_ key: String, _ locations: inout [String: SourceLocation]) throws -> [Double] {
        let value = try node(key, &locations)
        guard case .array(let elements) = value.value else { throw fail(key, "must be an array of numbers, found \(value.kindName)", at: value) }
        return try elements.enumerated().map { index, element in
            locations["\(keyPath(key))[\(index)]"] = element.location
            guard case .number(let text) = element.value, let number = Double(text), number.isFinite else {
                throw DatasetDefinition.error(
                    "must be a finite number, found \(element.kindName)", file: file, at: element.location, key: "\(keyPath(key))[\(index)]")
            }
            return number
        }
    }

    /// An object mapping free-form keys to numbers finite as 32-bit floats (`label.map`).
    func numberMap(_ key: String, _ locations: inout [String: SourceLocation]) throws -> [String: Float] {
        let value = try node(key, &locations)
        guard case .object(let list) = value.value else { throw fail(key, "must be an object of numbers, found \(value.kindName)", at: value) }
        var map: [String: Float] = [:]
        for member in list {
            let memberPath = keyPath(key) + "." + member.key
            locations[memberPath] = member.value.location
            guard case .number(let text) = member.value.value, let number = Float(text), number.isFinite else {
                throw DatasetDefinition.error(
                    "must be a number finite as a 32-bit float, found \(member.value.kindName)", file: file,
                    at: member.value.location, key: NFMError.excerpt(memberPath))
            }
            map[member.key] = number
        }
        return map
    }

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
