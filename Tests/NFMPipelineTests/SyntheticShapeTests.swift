import Foundation
import NFMTestSupport
import Testing

@testable import NFMPipeline

/// `nfm synth criteo`: the format of DeepCTR's `criteo_sample.txt` cell by cell, and Criteo's shapes.
@Suite("Synthetic click logs have the Criteo sample's format and shapes")
struct SyntheticShapeTests {
    static let rowCount = 20000
    /// One 20,000-row log shared by the shape tests (its records, header first), and its block sizes.
    static let log: (records: [[String]], blocks: [Int]) = {
        guard let generated = try? SyntheticLogSupport.generate(.criteo, rows: rowCount, seed: 11),
            let records = try? SyntheticLogSupport.records(generated.bytes)
        else { return ([], []) }
        return (records, generated.blocks)
    }()

    /// Why `row` is not a data row of the sample's format, or nil: 40 cells, label 0/1, I1…I13 empty or an
    /// integer (`I2` as `-1`, the others as `260.0`), C1…C26 empty or 8 lowercase hexadecimal digits.
    static func problem(_ row: [String]) -> String? {
        guard row.count == 40 else { return "\(row.count) cells" }
        guard row[0] == "0" || row[0] == "1" else { return "label \(row[0])" }
        for column in 1...13 where !row[column].isEmpty {
            var digits = Substring(row[column])
            if column == 2 {
                if digits.hasPrefix("-") { digits = digits.dropFirst() }
            } else {
                guard digits.hasSuffix(".0") else { return "I\(column) = \(row[column])" }
                digits = digits.dropLast(2)
            }
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                return "I\(column) = \(row[column])"
            }
        }
        for column in 14..<40 where !row[column].isEmpty {
            guard row[column].utf8.count == 8, row[column].allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
                return "C\(column - 13) = \(row[column])"
            }
        }
        return nil
    }

    @Test func everyRowHasTheSamplesFormat() throws {
        let records = Self.log.records
        try #require(records.count == Self.rowCount + 1)
        #expect(records[0] == SyntheticClickLog.header)
        #expect(records[0] == ["label"] + (1...13).map { "I\($0)" } + (1...26).map { "C\($0)" })
        let problems = records.dropFirst().compactMap(Self.problem)
        #expect(problems.isEmpty, "first: \(problems.prefix(3))")
        // Written in blocks of about 1 MiB, never more than a block plus one row.
        #expect(Self.log.blocks.count > 1)
        #expect(Self.log.blocks.allSatisfy { $0 <= SyntheticTextBuffer.blockSize + SyntheticTextBuffer.rowLimit })
    }

    @Test(.enabled(if: SyntheticLogSupport.sample("criteo_sample.txt") != nil, "needs ../shared deepctr-samples"))
    func theRealSampleHasTheSameHeaderAndPassesTheSameCheck() throws {
        let path = try #require(SyntheticLogSupport.sample("criteo_sample.txt"))
        let sample = try Data(contentsOf: URL(fileURLWithPath: path))
        let generated = try SyntheticLogSupport.generate(.criteo, rows: 3, seed: 1).bytes
        let firstLine = { (bytes: [UInt8]) in bytes.prefix { $0 != 10 } }
        #expect(Array(firstLine(Array(sample))) == Array(firstLine(generated)))
        let records = try SyntheticLogSupport.records(path: path)
        #expect(records.count == 201)
        #expect(records.dropFirst().compactMap(Self.problem).isEmpty)
    }

    @Test func missingCellsFollowTheDesignedRatesAndGroups() throws {
        let rows = Array(Self.log.records.dropFirst())
        try #require(rows.count == Self.rowCount && rows.allSatisfy { $0.count == 40 })
        let groups = SyntheticClickLog.numeric.map(\.group) + SyntheticClickLog.categorical.map(\.group)
        for (offset, group) in groups.enumerated() {
            let missing = Double(rows.filter { $0[offset + 1].isEmpty }.count) / Double(rows.count)
            let designed = SyntheticClickLog.missingRates[group]
            #expect(abs(missing - designed) < 0.02, "column \(offset + 1): \(missing) vs \(designed)")
        }
        // Columns of a group are empty together (I1, I10; C19, C20, C25, C26).
        #expect(rows.allSatisfy { $0[1].isEmpty == $0[10].isEmpty })
        #expect(rows.allSatisfy { row in Set([32, 33, 38, 39].map { row[$0].isEmpty }).count == 1 })
        #expect(rows.contains { $0[1].isEmpty } && rows.contains { !$0[32].isEmpty })
    }

    @Test func numbersAreHeavyTailedAndOnlyI2IsNegative() throws {
        let rows = Array(Self.log.records.dropFirst())
        try #require(rows.count == Self.rowCount)
        let i5 = rows.compactMap { Double($0[5]) }.sorted()
        try #require(i5.count > rows.count / 2)
        #expect(i5[i5.count - 1] > 100 * i5[i5.count / 2])  // max ≫ median
        let negativeI2 = Double(rows.filter { $0[2].hasPrefix("-") }.count) / Double(rows.count)
        #expect((0.05...0.09).contains(negativeI2))
        #expect(rows.allSatisfy { row in (1...13).allSatisfy { $0 == 2 || !row[$0].hasPrefix("-") } })
    }

    @Test func categoricalFrequenciesAreSkewed() throws {
        let rows = Array(Self.log.records.dropFirst())
        try #require(rows.count == Self.rowCount)
        let c9 = SyntheticLogSupport.skew(rows.map { $0[22] }, rows: rows.count)
        #expect(c9.distinct == 3 && (0.85...0.93).contains(c9.top))
        let c1 = SyntheticLogSupport.skew(rows.map { $0[14] }, rows: rows.count)
        #expect((0.36...0.50).contains(c1.top))
        // A hashed-id column: no value above a few percent, a long tail of rare values (seen < 10 times).
        let c3 = SyntheticLogSupport.skew(rows.map { $0[16] }, rows: rows.count)
        #expect(c3.top < 0.1 && c3.top > 0.02)
        #expect(c3.distinct > 2000 && c3.rare > c3.distinct * 8 / 10 && c3.singletons > c3.distinct / 4)
    }

    @Test func aboutAQuarterAreClicksAndTheLabelDependsOnFeatures() throws {
        let rows = Array(Self.log.records.dropFirst())
        try #require(rows.count == Self.rowCount)
        let clicks = rows.filter { $0[0] == "1" }.count
        #expect((0.22...0.28).contains(Double(clicks) / Double(rows.count)))
        // Click rates of C6's three most frequent values differ (a hidden effect per value).
        let byValue = Dictionary(grouping: rows.filter { !$0[19].isEmpty }, by: { $0[19] })
        let frequent = byValue.values.sorted { $0.count > $1.count }.prefix(3)
        let rates = frequent.map { group in Double(group.filter { $0[0] == "1" }.count) / Double(group.count) }
        #expect(rates.max()! - rates.min()! > 0.03, "\(rates)")
    }

    @Test func outputIsAPureFunctionOfRowsAndSeed() throws {
        let bytes = try SyntheticLogSupport.generate(.criteo, rows: 400, seed: 7).bytes
        #expect(try SyntheticLogSupport.generate(.criteo, rows: 400, seed: 7).bytes == bytes)
        #expect(try SyntheticLogSupport.generate(.criteo, rows: 400, seed: 8).bytes != bytes)
        #expect(bytes.filter { $0 == 10 }.count == 401)
    }
}
