import Foundation
import NFMFormat
@testable import NFMPipeline
import NFMTestSupport
import Testing

/// A definition text built from top-level members, one per line (member `i` is on line `i + 2`), so
/// tests can replace, drop or add members and know where each one is.
enum DefinitionText {
    static let members: [(key: String, value: String)] = [
        ("name", #""clicks""#),
        ("input", #"{ "delimiter": ";", "quote": "\"", "header": true }"#),
        ("columns", #"["session", "page", "ad", "device"]"#),
        ("fields", #"["device", "ad", "page"]"#),
        ("labels", #"{ "positive": 1, "negative": 0 }"#),
        (
            "negatives",
            #"{ "field": "ad", "perPositive": 3, "rule": "page-device", "rules": { "page-device": ["page", "device"], "page": ["page"] } }"#
        ),
        ("split", #"{ "train": 0.8, "validation": 0.1, "test": 0.1 }"#),
        ("seed", "5"),
        ("shardRows", "7"),
        ("zstdLevel", "1"),
    ]

    /// Line of a top-level member in `text()`.
    static func line(of key: String) -> Int { members.firstIndex { $0.key == key }! + 2 }

    /// The definition with `changes` (a nil value drops the member) and `extra` raw members appended.
    static func text(_ changes: [String: String?] = [:], extra: [String] = []) -> String {
        var lines: [String] = []
        for (key, value) in members {
            let replaced = changes[key].map { $0 } ?? value
            guard let replaced else { continue }
            lines.append("  \"\(key)\": \(replaced)")
        }
        lines += extra.map { "  " + $0 }
        return "{\n" + lines.joined(separator: ",\n") + "\n}\n"
    }
}

/// Parses `text`, expecting a failure; returns the error (recording an issue when it parsed).
func definitionError(_ text: String, file: String = "d.json") -> NFMError? {
    #expect(throws: NFMError.self) { try DatasetDefinition.parse(text: text, file: file) }
}

@Suite struct DefinitionTests {
    @Test func theBaseDefinitionParses() throws {
        let definition = try DatasetDefinition.parse(text: DefinitionText.text(), file: "d.json")
        #expect(definition.input.quote == "\"" && definition.input.delimiter == ";")
        #expect(definition.negatives?.rules["page-device"] == ["page", "device"])
        #expect(definition.seed == 5 && definition.shardRows == 7 && definition.zstdLevel == 1)
        #expect(definition.sourceText == DefinitionText.text())
        let bytes = [0xEF, 0xBB, 0xBF] + Array(DefinitionText.text().utf8)
        #expect(try DatasetDefinition.parse(bytes, file: "bom.json").name == "clicks")
    }

    @Test func theShippedDefinitionsParse() throws {
        for name in ["frappe.json", "movielens.json"] {
            #expect(try DatasetDefinition.load(path: TestSupport.pipeline(name)).sourceFile == name)
        }
    }

    /// (changes, extra members, key path named, message fragment, line).
    static let unknownKeys: [([String: String?], [String], String, String, Int)] = [
        (["input": #"{ "delimiter": ";", "qoute": "\"", "header": true }"#], [], "input.qoute", "did you mean 'quote'?", 3),
        ([:], [#""shardrows": 7"#], "shardrows", "did you mean 'shardRows'?", 12),
        ([:], [#""zstdLvel": 7"#], "zstdLvel", "did you mean 'zstdLevel'?", 12),
        (["labels": #"{ "postive": 1, "negative": 0 }"#], [], "labels.postive", "did you mean 'positive'?", 6),
        (
            ["negatives": #"{ "field": "ad", "perPositve": 3, "rule": "page", "rules": { "page": ["page"] } }"#], [],
            "negatives.perPositve", "did you mean 'perPositive'?", 7
        ),
        (["split": #"{ "train": 0.8, "valid": 0.1, "test": 0.1 }"#], [], "split.valid", "expected one of train, validation, test", 8),
        ([:], [#""comment": "x""#], "comment", "expected one of name, input, columns", 12),
    ]

    @Test(arguments: unknownKeys)
    func unknownKeysAreNamedWithASuggestion(
        changes: [String: String?], extra: [String], key: String, fragment: String, line: Int
    ) throws {
        let error = try #require(definitionError(DefinitionText.text(changes, extra: extra)))
        #expect(error.code == .definition)
        #expect(error.position?.field == key)
        #expect(error.position?.file == "d.json" && error.position?.line == line)
        #expect(error.message.hasPrefix("unknown key; \(fragment)"), "\(error.message)")
    }

    @Test func duplicateKeysAreRefusedAtEveryLevel() throws {
        let top = try #require(definitionError(DefinitionText.text(extra: [#""seed": 6"#])))
        #expect(top.code == .definition && top.position?.field == "seed" && top.position?.line == 12)
        #expect(top.message == "duplicate key (first at line 9, column 3)")
        #expect(top.description == "d.json:12:3: field seed: duplicate key (first at line 9, column 3)")
        let nested = try #require(
            definitionError(DefinitionText.text(["input": #"{ "delimiter": ";", "quote": "\"", "header": true, "quote": null }"#])))
        #expect(nested.position?.field == "input.quote" && nested.position?.line == 3 && nested.position?.column == 63)
        let escaped = try #require(
            definitionError(DefinitionText.text(["labels": #"{ "positive": 1, "negative": 0, "p\u006fsitive": 2 }"#])))
        #expect(escaped.position?.field == "labels.positive")
        let rules = try #require(
            definitionError(
                DefinitionText.text([
                    "negatives": #"{ "field": "ad", "perPositive": 3, "rule": "p", "rules": { "p": ["page"], "p": ["device"] } }"#
                ])))
        #expect(rules.position?.field == "negatives.rules.p")
    }

    /// (changes, key path, message fragment): type and representability errors found while decoding.
    static let typeErrors: [([String: String?], String, String)] = [
        (["name": nil], "name", "missing key"),
        (["input": #"{ "quote": null }"#], "input.delimiter", "missing key"),
        (["input": #"{ "delimiter": ";", "header": "yes" }"#], "input.header", "must be true or false, found a string"),
        (["input": "[]"], "input", "must be an object, found an array"),
        (["input": #"{ "delimiter": ";", "quote": 34, "header": true }"#], "input.quote", "must be a string or null, found a number"),
        (["columns": #""user""#], "columns", "must be an array of strings, found a string"),
        (["fields": #"["device", 2]"#], "fields[1]", "must be a field name or an object, found a number"),
        (["seed": "-1"], "seed", "outside 0…18446744073709551615"),
        (["seed": "1.5"], "seed", "must be an integer (no fraction or exponent)"),
        (["shardRows": "3e9"], "shardRows", "must be an integer (no fraction or exponent)"),
        (["shardRows": "1180591620717411303424"], "shardRows", "outside -9223372036854775808…9223372036854775807"),
        (["labels": #"{ "positive": 1e39, "negative": 0 }"#], "labels.positive", "too large for a 32-bit float"),
        (["labels": #"{ "positive": 1e999, "negative": 0 }"#], "labels.positive", "too large for a 64-bit float"),
        (["split": #"{ "train": "0.8", "validation": 0.1, "test": 0.1 }"#], "split.train", "must be a number, found a string"),
        (["negatives": #"{ "field": "ad", "perPositive": 3, "rule": "p", "rules": ["page"] }"#], "negatives.rules", "must be an object"),
    ]

    @Test(arguments: typeErrors)
    func wrongTypesNameTheKey(changes: [String: String?], key: String, fragment: String) throws {
        let error = try #require(definitionError(DefinitionText.text(changes)))
        #expect(error.code == .definition)
        #expect(error.position?.field == key)
        #expect(error.message.contains(fragment), "\(error.message)")
        #expect(error.position?.line != nil)
    }

    /// Every guard of `DatasetDefinition.validate`: (changes, key path, message fragment).
    static let guards: [([String: String?], String, String)] = [
        (["name": #""""#], "name", "must be 1…255 bytes, found 0"),
        (["name": "\"\(String(repeating: "n", count: 256))\""], "name", "found 256"),
        (["input": #"{ "delimiter": ";;", "header": true }"#], "input.delimiter", "must be one byte, found 2"),
        (["input": #"{ "delimiter": "", "header": true }"#], "input.delimiter", "must be one byte, found 0"),
        (["input": #"{ "delimiter": "é", "header": true }"#], "input.delimiter", "must be one byte, found 2"),
        (["input": #"{ "delimiter": "\n", "header": true }"#], "input.delimiter", "cannot be a line break"),
        (["input": #"{ "delimiter": ";", "quote": "''", "header": true }"#], "input.quote", "must be one byte or null, found 2 bytes"),
        (["input": #"{ "delimiter": ";", "quote": "\r", "header": true }"#], "input.quote", "cannot be a line break"),
        (["input": #"{ "delimiter": ";", "quote": ";", "header": true }"#], "input.quote", "must differ from input.delimiter"),
        (["columns": "[]"], "columns", "must list 1…4096 names, found 0"),
        (["columns": #"["session", "", "ad"]"#], "columns[1]", "is empty"),
        (["columns": #"["session", "page", "ad", "device", "page"]"#], "columns[4]", "repeats columns[1]"),
        (["fields": "[]"], "fields", "must list 1…1024 columns, found 0"),
        (["fields": #"["device", "ad", "page", "ad"]"#], "fields[3]", "repeats fields[1]"),
        (["fields": #"["device", "ad", "pages"]"#], "fields[2]", "is not one of the columns; did you mean 'page'?"),
        (["labels": #"{ "positive": 1, "negative": 1.0 }"#], "labels.negative", "must differ from labels.positive"),
        (
            ["negatives": #"{ "field": "session", "perPositive": 3, "rule": "p", "rules": { "p": ["page"] } }"#],
            "negatives.field", "is not one of the fields"
        ),
        (
            ["negatives": #"{ "field": "ad", "perPositive": -1, "rule": "p", "rules": { "p": ["page"] } }"#],
            "negatives.perPositive", "must be 0…100, found -1"
        ),
        (
            ["negatives": #"{ "field": "ad", "perPositive": 101, "rule": "p", "rules": { "p": ["page"] } }"#],
            "negatives.perPositive", "found 101"
        ),
        (
            ["negatives": #"{ "field": "ad", "perPositive": 1, "rule": "p", "rules": { "p": ["page", "ad"] } }"#],
            "negatives.rules.p[1]", "must be one of the fields other than 'ad'"
        ),
        (
            ["negatives": #"{ "field": "ad", "perPositive": 1, "rule": "p", "rules": { "p": ["session"] } }"#],
            "negatives.rules.p[0]", "must be one of the fields other than 'ad'"
        ),
        (
            ["negatives": #"{ "field": "ad", "perPositive": 1, "rule": "p", "rules": { "p": ["page", "page"] } }"#],
            "negatives.rules.p[1]", "is listed twice"
        ),
        (
            ["negatives": #"{ "field": "ad", "perPositive": 1, "rule": "p", "rules": { "": ["page"], "p": [] } }"#],
            "negatives.rules", "has a rule with an empty name"
        ),
        (
            ["negatives": #"{ "field": "ad", "perPositive": 1, "rule": "pag", "rules": { "page": ["page"] } }"#],
            "negatives.rule", "is not one of the rules [\"page\"]; did you mean 'page'?"
        ),
        (["split": #"{ "train": 0.8, "validation": -0.1, "test": 0.3 }"#], "split.validation", "must be a number in 0…1, found -0.1"),
        (["split": #"{ "train": 0.8, "validation": 0.1, "test": 0.2 }"#], "split", "ratios must sum to 1"),
        (["shardRows": "0"], "shardRows", "must be 1…16777216 (2^24), found 0"),
        (["shardRows": "3000000000"], "shardRows", "found 3000000000"),
        (["shardRows": "4611686018427387904"], "shardRows", "found 4611686018427387904"),
        (
            [
                "shardRows": "15790321",
                "columns": "[" + (0..<16).map { "\"c\($0)\"" }.joined(separator: ",") + ", \"page\", \"ad\", \"device\"]",
                "fields": "[" + (0..<13).map { "\"c\($0)\"" }.joined(separator: ",") + ", \"page\", \"ad\", \"device\"]",
            ], "shardRows", "must be at most 15790320 for 16 fields"
        ),
        (["zstdLevel": "0"], "zstdLevel", "must be 1…22, found 0"),
        (["zstdLevel": "23"], "zstdLevel", "found 23"),
    ]

    @Test(arguments: guards)
    func everyValidationGuardNamesItsKey(changes: [String: String?], key: String, fragment: String) throws {
        let error = try #require(definitionError(DefinitionText.text(changes)))
        #expect(error.code == .definition)
        #expect(error.position?.field == key)
        #expect(error.position?.file == "d.json")
        let topLevel = String(key.prefix { $0 != "." && $0 != "[" })
        #expect(error.position?.line == DefinitionText.line(of: topLevel))
        #expect(error.message.contains(fragment), "\(error.message)")
    }

    @Test func errorsCarryTheOffendingValue() throws {
        let field = try #require(definitionError(DefinitionText.text(["fields": #"["device", "ad", "pages"]"#])))
        #expect(field.position == NFMError.Position(file: "d.json", line: 5, column: 30, field: "fields[2]", value: "pages"))
        #expect(field.description == "d.json:5:30: field fields[2] = pages: is not one of the columns; did you mean 'page'?")
        let seed = try #require(definitionError(DefinitionText.text(["seed": "-1"])))
        #expect(seed.position?.value == "-1" && seed.description == "d.json:9:11: field seed = -1: outside 0…18446744073709551615")
        let quote = try #require(definitionError(DefinitionText.text(["input": #"{ "delimiter": ";", "qoute": "\"", "header": true }"#])))
        #expect(quote.description == "d.json:3:32: field input.qoute: unknown key; did you mean 'quote'?")
    }

    @Test func tooManyColumnsOrFields() throws {
        let names = (0...4096).map { "\"c\($0)\"" }
        let columns = try #require(definitionError(DefinitionText.text(["columns": "[" + names.joined(separator: ",") + "]"])))
        #expect(columns.position?.field == "columns" && columns.message == "must list 1…4096 names, found 4097")
        let fields = try #require(
            definitionError(
                DefinitionText.text([
                    "columns": "[" + names.joined(separator: ",") + "]",
                    "fields": "[" + names.prefix(1025).joined(separator: ",") + "]",
                ])))
        #expect(fields.position?.field == "columns")  // columns are checked first
        let many = (0..<1025).map { "\"c\($0)\"" }
        let tooMany = try #require(
            definitionError(
                DefinitionText.text([
                    "columns": "[" + many.joined(separator: ",") + "]", "fields": "[" + many.joined(separator: ",") + "]",
                ])))
        #expect(tooMany.position?.field == "fields" && tooMany.message == "must list 1…1024 columns, found 1025")
    }

    /// `validate()` also guards definitions changed in code (no line and column then, but the key).
    @Test func programmaticChangesAreValidatedToo() throws {
        let valid = try DatasetDefinition.parse(text: DefinitionText.text(), file: "d.json")
        var definition = valid
        definition.labels?.positive = .nan
        let label = #expect(throws: NFMError.self) { try definition.validate() }
        #expect(label?.position?.field == "labels.positive" && label?.message == "must be finite")
        definition = valid
        definition.labels?.negative = -.infinity
        #expect((#expect(throws: NFMError.self) { try definition.validate() })?.position?.field == "labels.negative")
        definition = valid
        definition.split.test = .nan
        let split = #expect(throws: NFMError.self) { try definition.validate() }
        #expect(split?.position?.field == "split.test" && split?.message == "must be a number in 0…1, found nan")
        definition = valid
        definition.shardRows = Int.max
        #expect((#expect(throws: NFMError.self) { try definition.validate() })?.position?.field == "shardRows")
        definition = valid
        definition.negatives?.rules["page"] = ["nope"]
        let rule = #expect(throws: NFMError.self) { try definition.ruleKey("page") }
        #expect(rule?.code == .definition && rule?.position?.value == "nope")
        try valid.validate()
    }

    @Test func extremesThatAreAllowed() throws {
        let text = DefinitionText.text([
            "seed": "18446744073709551615", "shardRows": "16777216", "fields": #"["device"]"#,
            "negatives": #"{ "field": "device", "perPositive": 100, "rule": "none", "rules": { "none": [] } }"#,
            "input": #"{ "delimiter": "\t", "quote": null, "header": false }"#, "zstdLevel": "22",
        ])
        let definition = try DatasetDefinition.parse(text: text, file: "d.json")
        #expect(definition.seed == .max && definition.shardRows == 1 << 24 && definition.input.quote == nil)
        #expect(try definition.ruleKey() == [])
    }

    /// (text, line, column, message fragment): JSON syntax errors.
    static let syntaxErrors: [(String, Int, Int, String)] = [
        ("{\n  \"name\": \"x\",\n}", 3, 1, "expected a quoted key, found '}'"),
        ("{\n  \"name\": \"x\n}", 2, 13, "raw control byte 0xa in a string"),
        ("{\"name\": \"x", 1, 10, "unterminated string"),
        ("{\"name\" \"x\"}", 1, 9, "expected ':' after the key"),
        ("{\"seed\": 01}", 1, 11, "leading zeros"),
        ("{\"seed\": 1.}", 1, 12, "expected a digit after '.'"),
        ("{\"seed\": tru}", 1, 10, "expected a JSON value"),
        ("{} {}", 1, 4, "unexpected text after the JSON value"),
        ("", 1, 1, "expected a JSON value, found end of file"),
        ("{\"name\": \"\\x\"}", 1, 11, "invalid escape '\\x'"),
        ("{\"name\": \"\\ud800\"}", 1, 11, "unpaired UTF-16 surrogate"),
        (String(repeating: "[", count: 100), 1, 65, "nesting deeper than 64 levels"),
    ]

    @Test(arguments: syntaxErrors)
    func syntaxErrorsHaveLineAndColumn(text: String, line: Int, column: Int, fragment: String) throws {
        let error = try #require(definitionError(text, file: "s.json"))
        #expect(error.code == .definition)
        #expect(error.position?.file == "s.json" && error.position?.line == line && error.position?.column == column)
        #expect(error.message.contains(fragment), "\(error.message)")
    }

    @Test func invalidUTF8AndOversizedFilesAreRefused() throws {
        let bad = Array("{\n \"name\": \"caf".utf8) + [0xE9] + Array("\"}".utf8)
        let error = #expect(throws: NFMError.self) { try DatasetDefinition.parse(bad, file: "u.json") }
        #expect(error?.position?.line == 2 && error?.position?.column == 14)
        #expect(error?.message == "invalid UTF-8 byte 0xe9")
        let huge = [UInt8](repeating: 32, count: (1 << 20) + 1)
        let tooBig = #expect(throws: NFMError.self) { try DatasetDefinition.parse(huge, file: "h.json") }
        #expect(tooBig?.code == .definition && tooBig?.message.contains("at most 1048576 bytes") == true)
    }

    @Test func longValuesAreExcerptedInMessages() throws {
        let long = String(repeating: "x", count: 5000)
        let error = try #require(definitionError(DefinitionText.text(["fields": "[\"\(long)\"]"])))
        #expect(error.position?.field == "fields[0]" && error.position?.value == long)
        #expect(error.description.utf8.count < 300 && error.description.contains("…"))
        let key = try #require(definitionError(DefinitionText.text(extra: ["\"\(long)\": 1"])))
        #expect(key.description.utf8.count < 400 && key.position?.field?.hasSuffix("…") == true)
    }

    @Test func anUnknownRuleFromTheCommandLineIsAUsageError() throws {
        let definition = try DatasetDefinition.parse(text: DefinitionText.text(), file: "d.json")
        let error = #expect(throws: NFMError.self) { try definition.ruleKey("nope") }
        #expect(error?.code == .usage)
        #expect(error?.message == "unknown negative rule 'nope'; d.json defines [\"page\", \"page-device\"]")
    }

    @Test func suggestionsUseEditDistance() {
        #expect(KeySuggestion.nearest(to: "qoute", among: ["delimiter", "quote", "header"]) == "quote")
        #expect(KeySuggestion.nearest(to: "HEADER", among: ["delimiter", "quote", "header"]) == "header")
        #expect(KeySuggestion.nearest(to: "xyz", among: ["delimiter", "quote", "header"]) == nil)
        #expect(KeySuggestion.editDistance("kitten", "sitting") == 3)
        #expect(KeySuggestion.editDistance("ab", "ba") == 1)
    }
}
