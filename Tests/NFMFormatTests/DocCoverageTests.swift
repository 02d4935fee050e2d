import Foundation
import Testing

/// Every public declaration of the library modules has a doc comment (issue 8, item 6).
@Suite struct DocCoverageTests {
    /// The library modules checked (not the `nfm` CLI, NFMTestSupport or the C shims).
    static let modules = ["NFMFormat", "NFMPipeline", "NFMKernels", "NFMModel", "NFMExperiments", "NFMRandom"]

    /// `Sources/`, found from this file's location.
    static let sources: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources")

    @Test func everyPublicDeclarationOfTheLibrariesIsDocumented() throws {
        var undocumented: [String] = []
        var total = 0
        for module in Self.modules {
            let declarations = try DocCoverage.scan(root: Self.sources.appendingPathComponent(module))
            total += declarations.count
            undocumented += declarations.filter { !$0.documented }
                .map { "Sources/\(module)/\($0.file):\($0.line): \($0.text)" }
        }
        #expect(total > 500, "the scan found too few public declarations: \(total)")
        #expect(undocumented.isEmpty, "\(undocumented.count) of \(total) undocumented:\n\(undocumented.joined(separator: "\n"))")
    }

    /// Each library module has a DocC catalogue `X.docc/X.md` whose symbol links (``` ``Name`` ```) name a
    /// public declaration of the module (the first path component of a link, e.g. `Split` of `Split/train`).
    @Test func everyModuleHasADocCCatalogueWhoseLinksResolve() throws {
        for module in Self.modules {
            let page = Self.sources.appendingPathComponent("\(module)/\(module).docc/\(module).md")
            let text = try #require(try? String(contentsOf: page, encoding: .utf8), "no DocC catalogue \(page.path)")
            #expect(text.hasPrefix("# ``\(module)``"), "\(page.path) does not start with the module's link")
            let declared = try DocCoverage.scan(root: Self.sources.appendingPathComponent(module)).map(\.text)
            let links = text.components(separatedBy: "``").enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
            for link in links where link != module {
                let name = String(link.prefix { $0.isLetter || $0.isNumber || $0 == "_" })
                let found = declared.contains { declaration in
                    declaration.range(
                        of: #"\b(struct|class|enum|protocol|typealias|actor|func|var|let|case)\s+"# + name + #"\b"#,
                        options: .regularExpression) != nil
                }
                #expect(found, "\(module).docc links ``\(link)``, which is no public declaration of \(module)")
            }
        }
    }

    @Test func scannerFindsExactlyThePublicDeclarationsAndTheirComments() {
        let source = #"""
            /// A type.
            public struct Documented {
                public var bare: Int
                /// Set inside only.
                public private(set) var setter: Int
                /* not a doc comment */
                public let blockCommented = 1
                /**
                 A block doc comment.
                 */
                @inlinable
                @discardableResult public func blockDocumented() -> Int { 1 }
                private func hidden() {}
                let internalValue = "public func inString() {"
                let text = """
                    public func inMultilineString()
                    """
                public func body() {
                    public struct NotCounted {}
                    switch 1 { case 1: break; default: break }
                }
            }
            // public func inComment()
            struct Internal { public func insideInternal() {} }
            public enum Choice: String {
                case first = "\(1)"
                /// The second.
                case second
                func helper() { switch self { case .first: break; case .second: break } }
            }
            public extension Documented {
                func extended() {}
                private func privateExtended() {}
            }
            public protocol Requirement {
                /// Documented.
                func documented()
                var undocumented: Int { get }
            }
            public class Open {
                open class func make() {}
            }
            """#
        let found = DocCoverage.scan(source: source, file: "F.swift").map { "\($0.line) \($0.documented)" }
        #expect(
            found == [
                "2 true", "3 false", "5 true", "7 false", "12 true", "18 false", "25 false", "26 false", "28 true",
                "32 false", "35 false", "37 true", "38 false", "40 false", "41 false",
            ])
    }
}
