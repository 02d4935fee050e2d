import Foundation
import NFMTestSupport
import Testing

/// `nfm synth criteo|movielens-ratings` on the command line: same bytes to a file and to standard output,
/// seeds, and refused arguments.
@Suite struct SynthCLITests {
    @Test func newKindsWriteTheSameBytesToAFileAndToStandardOutput() throws {
        let directory = TestSupport.temporaryDirectory()
        for (kind, header) in [
            ("criteo", "label,I1,I2,I3,I4,I5,I6,I7,I8,I9,I10,I11,I12,I13,C1,"),
            ("movielens-ratings", "user_id,movie_id,rating,timestamp,title,genres,gender,age,occupation,zip\n"),
        ] {
            let path = directory + "/\(kind).csv"
            #expect(try nfm(["synth", kind, "--rows", "60", "--seed", "9", "--out", path]).status == 0)
            let written = try String(contentsOfFile: path, encoding: .utf8)
            let printed = try nfm(["synth", kind, "--rows", "60", "--seed", "9"])
            #expect(printed.status == 0 && printed.stdout == written)
            #expect(written.hasPrefix(header))
            #expect(written.split(separator: "\n").count == 61)
            #expect(try nfm(["synth", kind, "--rows", "60", "--seed", "10"]).stdout != written)
        }
    }

    @Test func unknownKindsAndRowCountsAreRefused() throws {
        let unknown = try nfm(["synth", "avazu", "--rows", "5"])
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("frappe, movielens, criteo, movielens-ratings"))
        #expect(try nfm(["synth", "criteo", "--rows", "0"]).status == 64)
        let huge = try nfm(["synth", "movielens-ratings", "--rows", "100000000000"])
        #expect(huge.status == 64 && huge.stderr.contains("--rows must be ≤"))
    }
}
