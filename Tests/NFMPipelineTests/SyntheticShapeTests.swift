import Foundation
import NFMFormat
import NFMTestSupport
import Testing

@testable import NFMPipeline

@Suite("Synthetic click and rating logs have the real logs' shapes")
struct SyntheticShapeTests {
    private func generate(_ write: (Int, UInt64, (UnsafeRawBufferPointer) throws -> Void) throws -> Void, rows: Int, seed: UInt64)
        throws -> [UInt8]
    {
        var bytes: [UInt8] = []
        try write(rows, seed) { bytes += $0 }
        return bytes
    }

    /// Every record of a CSV file, parsed by the builder's reader (so quoting is checked too).
    private func records(_ bytes: [UInt8]) throws -> [[String]] {
        let path = TestSupport.writeBytes(bytes, named: "log.csv", in: TestSupport.temporaryDirectory())
        let reader = try DelimitedReader(path: path, format: .init(delimiter: 44, quote: 34))
        var rows: [[String]] = []
        try reader.forEachRecord { record in
            #expect(record.problem == nil)
            rows.append((0..<record.fieldCount).map { record.string($0) })
        }
        return rows
    }

    @Test func clickLogsLookLikeCriteo() throws {
        let bytes = try generate(SyntheticClickLog.write, rows: 4000, seed: 7)
        #expect(try generate(SyntheticClickLog.write, rows: 4000, seed: 7) == bytes)
        #expect(try generate(SyntheticClickLog.write, rows: 4000, seed: 8) != bytes)
        let rows = try records(bytes)
        #expect(rows.first == ["label"] + (1...13).map { "I\($0)" } + (1...26).map { "C\($0)" })
        let data = rows.dropFirst()
        #expect(data.count == 4000)
        #expect(data.allSatisfy { $0.count == 40 })
        let clicks = Double(data.filter { $0[0] == "1" }.count) / 4000
        #expect(data.allSatisfy { $0[0] == "0" || $0[0] == "1" })
        #expect((0.1...0.45).contains(clicks))
        let missingI12 = Double(data.filter { $0[12].isEmpty }.count) / 4000
        #expect((0.7...0.82).contains(missingI12))
        #expect(data.contains { $0[2].hasPrefix("-") })
        #expect(data.compactMap { Double($0[5]) }.max()! > 10_000)  // heavy tail
        let c1 = Dictionary(grouping: data.map { $0[14] }, by: { $0 }).mapValues(\.count)
        #expect(c1.keys.allSatisfy { $0.count == 8 && $0.allSatisfy(\.isHexDigit) })
        #expect(c1.values.filter { $0 == 1 }.count > 50)  // a long tail of values seen once
        #expect(c1.values.max()! > 100)  // and a few frequent ones
    }

    @Test func ratingLogsLookLikeMovieLens() throws {
        let bytes = try generate(SyntheticRatingsLog.write, rows: 3000, seed: 3)
        #expect(try generate(SyntheticRatingsLog.write, rows: 3000, seed: 3) == bytes)
        let rows = try records(bytes)
        #expect(rows.first == ["user_id", "movie_id", "rating", "timestamp", "title", "genres", "gender", "age", "occupation", "zip"])
        let data = rows.dropFirst()
        #expect(data.count == 3000)
        #expect(data.allSatisfy { $0.count == 10 })
        let ratings = Set(data.map { $0[2] })
        #expect(ratings.isSubset(of: ["1", "2", "3", "4", "5"]) && ratings.count >= 4)
        #expect(data.contains { $0[5].contains("|") })
        #expect(data.contains { $0[4].contains(", The (") })
        // A movie's title and genres, and a user's gender, are the same on every row.
        let byMovie = Dictionary(grouping: data, by: { $0[1] })
        #expect(byMovie.values.allSatisfy { Set($0.map { $0[4] + $0[5] }).count == 1 })
        let byUser = Dictionary(grouping: data, by: { $0[0] })
        #expect(byUser.values.allSatisfy { Set($0.map { $0[6] + $0[7] + $0[9] }).count == 1 })
    }
}
