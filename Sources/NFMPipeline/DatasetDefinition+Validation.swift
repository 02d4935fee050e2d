import NFMFormat

extension DatasetDefinition {
    /// Hard limits on a definition's values, each with the reason it exists.
    public enum Limits {
        /// `name` length in bytes (it names runs and files; 255 is the usual file-name limit).
        public static let nameBytes = 1...255
        /// Header columns the input must contain (far beyond any categorical log; keeps lookups small).
        public static let columns = 1...4096
        /// One-hot fields (each is a vocabulary and, in models that concatenate fields, an embedding).
        public static let fields = 1...1024
        /// Negatives per positive: draws are checked against the earlier draws of the same positive
        /// (quadratic), and each one adds a row; 100 is 50× the paper's 2.
        public static let perPositive = 0...100
        /// Rows per shard: a shard is assembled in memory before it is compressed; see also
        /// `maximumShardRows(fieldCount:)`.
        public static let shardRows = 1...(1 << 24)
        /// The most rows a shard of `fieldCount` fields may hold: a shard being filled takes
        /// `4 · rows · (fields + 1)` bytes, kept under 1 GiB (the builder's rule, `BuildPlan`).
        public static func maximumShardRows(fieldCount: Int) -> Int {
            BuildPlan.maximumShardRows(fieldCount: fieldCount)
        }
        /// zstd compression levels.
        public static let zstdLevel = 1...22
    }

    /// Checks every value and cross-reference; a failure is a `.definition` error naming the key path (and
    /// the offending value) and, for a parsed definition, its line and column. Guards, in order: name;
    /// input delimiter and quote; columns; fields; field specs (`FieldSpec`); label column or
    /// labels + negatives; labels; negatives (field, perPositive, rules, rule); split; shardRows; zstdLevel.
    /// (`seed` is any 64-bit unsigned integer.)
    public func validate() throws {
        guard Limits.nameBytes.contains(name.utf8.count) else {
            throw invalid("name", "must be 1…255 bytes, found \(name.utf8.count)")
        }
        try validateInput()
        try validateColumnsAndFields()
        try validateFieldSpecs()
        try validateLabelSource()
        if let labels { try validateLabels(labels) }
        if let negatives { try validateNegatives(negatives) }
        try validateSplit()
        guard Limits.shardRows.contains(shardRows) else {
            throw invalid("shardRows", "must be 1…\(Limits.shardRows.upperBound) (2^24), found \(shardRows)")
        }
        let maximumRows = Limits.maximumShardRows(fieldCount: fields.count)
        guard shardRows <= maximumRows else {
            throw invalid(
                "shardRows",
                "must be at most \(maximumRows) for \(fields.count) fields (a shard being filled takes"
                    + " 4 × rows × (fields + 1) bytes, kept under 1 GiB), found \(shardRows)")
        }
        guard Limits.zstdLevel.contains(zstdLevel) else {
            throw invalid("zstdLevel", "must be 1…22, found \(zstdLevel)")
        }
    }

    /// The error for the value at `key` (its location when the definition was parsed from a file).
    func invalid(_ key: String, _ what: String, value: String? = nil) -> NFMError {
        DatasetDefinition.error(what, file: sourceFile, at: locations[key], key: NFMError.excerpt(key), value: value)
    }

    private func validateInput() throws {
        let delimiter = input.delimiter
        guard delimiter.utf8.count == 1, let delimiterByte = delimiter.utf8.first else {
            throw invalid("input.delimiter", "must be one byte, found \(delimiter.utf8.count)", value: delimiter)
        }
        guard delimiterByte != 10, delimiterByte != 13 else {
            throw invalid("input.delimiter", "cannot be a line break")
        }
        guard let quote = input.quote else { return }
        guard quote.utf8.count == 1, let quoteByte = quote.utf8.first else {
            throw invalid("input.quote", "must be one byte or null, found \(quote.utf8.count) bytes", value: quote)
        }
        guard quoteByte != 10, quoteByte != 13 else { throw invalid("input.quote", "cannot be a line break") }
        guard quoteByte != delimiterByte else {
            throw invalid("input.quote", "must differ from input.delimiter", value: quote)
        }
    }

    private func validateColumnsAndFields() throws {
        guard Limits.columns.contains(columns.count) else {
            throw invalid("columns", "must list 1…\(Limits.columns.upperBound) names, found \(columns.count)")
        }
        var firstColumn: [String: Int] = [:]
        for (index, column) in columns.enumerated() {
            guard !column.isEmpty else { throw invalid("columns[\(index)]", "is empty") }
            if let first = firstColumn[column] {
                throw invalid("columns[\(index)]", "repeats columns[\(first)]", value: column)
            }
            firstColumn[column] = index
        }
        guard Limits.fields.contains(fields.count) else {
            throw invalid("fields", "must list 1…\(Limits.fields.upperBound) columns, found \(fields.count)")
        }
        var firstField: [String: Int] = [:]
        for (index, field) in fields.enumerated() {
            guard !field.isEmpty else { throw invalid("fields[\(index)]", "is empty") }
            if let first = firstField[field] {
                throw invalid("fields[\(index)]", "repeats fields[\(first)]", value: field)
            }
            firstField[field] = index
            guard firstColumn[field] != nil else {
                let suggestion = KeySuggestion.nearest(to: field, among: columns).map { "; did you mean '\($0)'?" } ?? ""
                throw invalid("fields[\(index)]", "is not one of the columns\(suggestion)", value: field)
            }
        }
    }

    private func validateLabels(_ labels: Labels) throws {
        guard labels.positive.isFinite else { throw invalid("labels.positive", "must be finite") }
        guard labels.negative.isFinite else { throw invalid("labels.negative", "must be finite") }
        guard labels.positive != labels.negative else {
            throw invalid("labels.negative", "must differ from labels.positive", value: "\(labels.negative)")
        }
    }

    private func validateNegatives(_ negatives: Negatives) throws {
        let corrupted = negatives.field
        guard fields.contains(corrupted) else {
            throw invalid("negatives.field", "is not one of the fields", value: corrupted)
        }
        guard Limits.perPositive.contains(negatives.perPositive) else {
            throw invalid(
                "negatives.perPositive", "must be 0…\(Limits.perPositive.upperBound), found \(negatives.perPositive)")
        }
        let fieldSet = Set(fields)
        for (name, key) in negatives.rules.sorted(by: { $0.key < $1.key }) {
            guard !name.isEmpty else { throw invalid("negatives.rules", "has a rule with an empty name") }
            var seen: Set<String> = []
            for (index, field) in key.enumerated() {
                let elementPath = "negatives.rules.\(name)[\(index)]"
                guard fieldSet.contains(field), field != corrupted else {
                    throw invalid(elementPath, "must be one of the fields other than '\(corrupted)'", value: field)
                }
                guard seen.insert(field).inserted else { throw invalid(elementPath, "is listed twice", value: field) }
            }
        }
        guard negatives.rules[negatives.rule] != nil else {
            let names = negatives.rules.keys.sorted()
            let suggestion = KeySuggestion.nearest(to: negatives.rule, among: names).map { "; did you mean '\($0)'?" } ?? ""
            throw invalid(
                "negatives.rule", "is not one of the rules \(NFMError.excerpt("\(names)"))\(suggestion)",
                value: negatives.rule)
        }
    }

    private func validateSplit() throws {
        let ratios = [("train", split.train), ("validation", split.validation), ("test", split.test)]
        for (name, ratio) in ratios where !(ratio.isFinite && ratio >= 0 && ratio <= 1) {
            throw invalid("split.\(name)", "must be a number in 0…1, found \(ratio)")
        }
        let sum = split.train + split.validation + split.test
        guard abs(sum - 1) < 1e-9 else { throw invalid("split", "ratios must sum to 1, found \(sum)") }
    }
}
