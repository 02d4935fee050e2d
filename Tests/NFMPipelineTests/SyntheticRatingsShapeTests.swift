import Foundation
import NFMTestSupport
import Testing

@testable import NFMPipeline

/// `nfm synth movielens-ratings`: the format of DeepCTR's `movielens_sample.txt` and MovieLens-1M's shapes.
@Suite("Synthetic rating logs have the MovieLens sample's format and shapes")
struct SyntheticRatingsShapeTests {
    static let rowCount = 20000
    /// One 20,000-row log shared by the tests: its bytes and records (header first).
    static let log: (bytes: [UInt8], records: [[String]]) = {
        guard let generated = try? SyntheticLogSupport.generate(.movielensRatings, rows: rowCount, seed: 5),
            let records = try? SyntheticLogSupport.records(generated.bytes)
        else { return ([], []) }
        return (generated.bytes, records)
    }()

    static let genres = Set(SyntheticRatingsLog.genres.map(\.name))

    /// Why `row` is not a data row of the sample's format, or nil.
    static func problem(_ row: [String]) -> String? {
        guard row.count == 10 else { return "\(row.count) cells: \(row)" }
        let isNumber = { (text: String) in !text.isEmpty && text.allSatisfy { $0.isASCII && $0.isNumber } }
        guard isNumber(row[0]), isNumber(row[1]), isNumber(row[3]) else { return "ids or timestamp: \(row)" }
        guard ["1", "2", "3", "4", "5"].contains(row[2]) else { return "rating \(row[2])" }
        guard row[4].range(of: #"^.+ \([0-9]{4}\)$"#, options: .regularExpression) != nil else { return "title \(row[4])" }
        let genres = row[5].split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        guard (1...6).contains(genres.count), genres == genres.sorted(), Set(genres).count == genres.count,
            genres.allSatisfy(Self.genres.contains)
        else { return "genres \(row[5])" }
        guard ["M", "F"].contains(row[6]), ["1", "18", "25", "35", "45", "50", "56"].contains(row[7]) else {
            return "gender or age: \(row)"
        }
        guard isNumber(row[8]), let occupation = Int(row[8]), (0...20).contains(occupation) else { return "occupation \(row[8])" }
        guard row[9].range(of: #"^[0-9]{5,6}(-[0-9]{4})?$"#, options: .regularExpression) != nil else { return "zip \(row[9])" }
        return nil
    }

    @Test func everyRowHasTheSamplesFormat() throws {
        let records = Self.log.records
        try #require(records.count == Self.rowCount + 1)
        #expect(records[0] == SyntheticRatingsLog.header)
        let problems = records.dropFirst().compactMap(Self.problem)
        #expect(problems.isEmpty, "first: \(problems.prefix(3))")
        let ratings = Dictionary(grouping: records.dropFirst(), by: { $0[2] }).mapValues(\.count)
        #expect(ratings.count == 5 && ratings.values.allSatisfy { $0 > Self.rowCount / 50 })
        let mean = records.dropFirst().compactMap { Double($0[2]) }.reduce(0, +) / Double(Self.rowCount)
        #expect((3.3...3.8).contains(mean))
    }

    @Test(.enabled(if: SyntheticLogSupport.sample("movielens_sample.txt") != nil, "needs ../shared deepctr-samples"))
    func theRealSampleHasTheSameHeaderAndPassesTheSameCheck() throws {
        let path = try #require(SyntheticLogSupport.sample("movielens_sample.txt"))
        let records = try SyntheticLogSupport.records(path: path)
        #expect(records.count == 201)
        #expect(records.first == Self.log.records.first)
        #expect(records.dropFirst().compactMap(Self.problem).isEmpty)
    }

    @Test func quotedTitlesParseAsRFC4180() throws {
        let records = Array(Self.log.records.dropFirst())
        try #require(records.count == Self.rowCount)
        let text = String(decoding: Self.log.bytes, as: UTF8.self)
        #expect(text.contains(", The ("))
        #expect(text.contains(",\""))  // quoted cells in the raw bytes…
        #expect(records.contains { $0[4].contains(", The (") })  // …come back with their commas
        #expect(records.contains { $0[4].hasPrefix("\"") && $0[4].dropFirst().contains("\" ") })  // and quotes
        #expect(records.contains { $0[5].contains("|") })
        #expect(records.contains { $0[9].contains("-") })
    }

    @Test func usersAndMoviesKeepTheirAttributes() throws {
        let records = Array(Self.log.records.dropFirst())
        try #require(records.count == Self.rowCount)
        let byUser = Dictionary(grouping: records, by: { $0[0] })
        #expect(byUser.values.allSatisfy { Set($0.map { $0[6...9].joined(separator: ",") }).count == 1 })
        let byMovie = Dictionary(grouping: records, by: { $0[1] })
        #expect(byMovie.values.allSatisfy { Set($0.map { $0[4] + "\t" + $0[5] }).count == 1 })
        // Skewed activity: the most active user and the most rated movie are far above average (a uniform
        // draw would put the maximum near 1.2 × the average here).
        let topUser = byUser.values.map(\.count).max() ?? 0
        let topMovie = byMovie.values.map(\.count).max() ?? 0
        #expect(2 * topUser > 5 * Self.rowCount / byUser.count)
        #expect(2 * topMovie > 5 * Self.rowCount / byMovie.count)
    }

    @Test func outputIsAPureFunctionOfRowsAndSeed() throws {
        let bytes = try SyntheticLogSupport.generate(.movielensRatings, rows: 300, seed: 3).bytes
        #expect(try SyntheticLogSupport.generate(.movielensRatings, rows: 300, seed: 3).bytes == bytes)
        #expect(try SyntheticLogSupport.generate(.movielensRatings, rows: 300, seed: 4).bytes != bytes)
    }
}
