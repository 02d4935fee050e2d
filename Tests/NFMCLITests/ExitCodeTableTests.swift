import Foundation
import NFMFormat
import NFMTestSupport
import Testing

@Suite("README's exit-code table is the one in NFMError")
struct ExitCodeTableTests {
    /// Rows of README.md's "Exit codes" table as (exit status, error codes).
    private func readmeRows() throws -> [(Int32, [String])] {
        let readme = try String(contentsOfFile: TestSupport.packageRoot + "/README.md", encoding: .utf8)
        let section = try #require(readme.components(separatedBy: "## Exit codes").dropFirst().first)
        let table = section.components(separatedBy: "\n## ")[0]
        return table.split(separator: "\n").compactMap { line in
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard cells.count >= 4, let status = Int32(cells[1]) else { return nil }
            let codes = cells[2].split(separator: ",").map {
                $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "`"))
            }.filter { !$0.isEmpty }
            return (status, codes)
        }
    }

    @Test func everyCodeIsListedOnceUnderItsExitStatus() throws {
        let rows = try readmeRows()
        #expect(rows.count >= 5)
        var listed: [String: Int32] = [:]
        for (status, codes) in rows {
            for code in codes {
                #expect(listed[code] == nil, "\(code) listed twice")
                listed[code] = status
            }
        }
        for code in NFMError.Code.allCases {
            #expect(listed[code.rawValue] == code.exitCode, "README lists \(code.rawValue) under \(String(describing: listed[code.rawValue])), NFMError says \(code.exitCode)")
        }
        #expect(Set(listed.keys) == Set(NFMError.Code.allCases.map(\.rawValue)))
    }
}
