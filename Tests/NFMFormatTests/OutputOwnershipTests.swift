import Foundation
import NFMFormat
import NFMTestSupport
import Testing

@Suite("Output ownership: which directories and files nfm may write or replace")
struct OutputOwnershipTests {
    private func refusal(_ body: () throws -> Void) -> NFMError? {
        do {
            try body()
            return nil
        } catch let error as NFMError {
            return error
        } catch {
            return nil
        }
    }

    private func write(_ text: String, to path: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    @Test func claimCreatesTheDirectoryWithItsMarker() throws {
        let out = TestSupport.temporaryDirectory() + "/new/dataset"
        let claim = try OutputDirectory.claim(out, kind: .dataset, force: false, inputs: [])
        #expect(OutputDirectory.ownerKind(of: out) == .dataset)
        claim.commit()
        claim.close()
        #expect(FileSystem.exists(out + "/" + OutputDirectory.markerName))
    }

    @Test func aForeignDirectoryIsNeverReplacedEvenWithForce() throws {
        let out = TestSupport.temporaryDirectory()
        try write("precious", to: out + "/notes.txt")
        let error = refusal { _ = try OutputDirectory.claim(out, kind: .dataset, force: true, inputs: []) }
        #expect(error?.code == .refused)
        #expect(error?.position?.file == out)
        #expect(try String(contentsOfFile: out + "/notes.txt", encoding: .utf8) == "precious")
    }

    @Test func anNFMDirectoryIsReplacedOnlyWithForceAndOnlyByItsKind() throws {
        let out = TestSupport.temporaryDirectory() + "/d"
        let first = try OutputDirectory.claim(out, kind: .dataset, force: false, inputs: [])
        try write("old", to: out + "/old.txt")
        first.commit()
        first.close()
        #expect(refusal { _ = try OutputDirectory.claim(out, kind: .dataset, force: false, inputs: []) }?.code == .refused)
        #expect(refusal { _ = try OutputDirectory.claim(out, kind: .run, force: true, inputs: []) }?.code == .refused)
        #expect(FileSystem.exists(out + "/old.txt"))
        let second = try OutputDirectory.claim(out, kind: .dataset, force: true, inputs: [])
        #expect(!FileSystem.exists(out + "/old.txt"))
        #expect(OutputDirectory.ownerKind(of: out) == .dataset)
        second.close()
    }

    @Test func anOutputOverlappingAnInputIsRefused() throws {
        let directory = TestSupport.temporaryDirectory()
        let input = directory + "/log.tsv"
        try write("a\tb\n", to: input)
        for output in [directory, directory + "/../" + (directory as NSString).lastPathComponent] {
            let error = refusal { _ = try OutputDirectory.claim(output, kind: .dataset, force: true, inputs: [input]) }
            #expect(error?.code == .refused)
            #expect(error?.message.contains("contains the input") == true)
        }
        #expect(refusal { try OutputFile.check(input, force: true, inputs: [input]) }?.message.contains("is the input") == true)
        let inside = refusal { try OutputFile.check(directory + "/x/y.tsv", force: true, inputs: [directory]) }
        #expect(inside?.message.contains("lies inside the input") == true)
        #expect(FileSystem.exists(input))
    }

    @Test func aSecondWriterFailsFastWhileTheFirstHoldsTheLock() throws {
        let out = TestSupport.temporaryDirectory() + "/locked"
        let first = try OutputDirectory.claim(out, kind: .dataset, force: false, inputs: [])
        let error = refusal { _ = try OutputDirectory.claim(out, kind: .dataset, force: true, inputs: []) }
        #expect(error?.code == .refused)
        #expect(error?.message.contains("another nfm process") == true)
        first.close()
    }

    @Test func abandonRemovesWhatTheClaimCreated() throws {
        let parent = TestSupport.temporaryDirectory()
        let created = try OutputDirectory.claim(parent + "/fresh", kind: .run, force: false, inputs: [])
        try write("partial", to: parent + "/fresh/model.nfmc")
        created.abandon()
        #expect(!FileSystem.exists(parent + "/fresh"))
        let existing = parent + "/empty"
        try FileSystem.createDirectory(existing)
        let claimed = try OutputDirectory.claim(existing, kind: .run, force: false, inputs: [])
        try write("partial", to: existing + "/model.nfmc")
        claimed.abandon()
        #expect(FileSystem.isDirectory(existing))
        #expect(FileSystem.relativeFiles(under: existing).isEmpty)
    }

    @Test func atomicFilesNeverTruncateWithoutForceAndLeaveNothingHalfWritten() throws {
        let directory = TestSupport.temporaryDirectory()
        let path = directory + "/out.tsv"
        try write("keep", to: path)
        #expect(refusal { _ = try AtomicFileWriter(path: path, force: false, inputs: []) }?.code == .refused)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "keep")
        do {
            let abandoned = try AtomicFileWriter(path: directory + "/never.tsv", force: false, inputs: [])
            try abandoned.write("half")
        }
        #expect(FileSystem.relativeFiles(under: directory) == ["out.tsv"])
        let writer = try AtomicFileWriter(path: path, force: true, inputs: [])
        try writer.write("new")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "keep")
        try writer.commit()
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "new")
        #expect(FileSystem.relativeFiles(under: directory) == ["out.tsv"])
    }

    @Test func readersRefuseFIFOsAndDirectoriesWithoutBlocking() throws {
        let directory = TestSupport.temporaryDirectory()
        let fifo = directory + "/pipe"
        #expect(mkfifo(fifo, 0o600) == 0)
        for path in [fifo, directory] {
            let error = refusal { _ = try ReadableFile(path: path) }
            #expect(error?.code == .io)
            #expect(error?.position?.file == path)
        }
        #expect(refusal { _ = try ReadableFile(path: directory + "/absent") }?.message == "no such file")
    }

    @Test func errorsRenderTheirPositionAndCutLongValues() {
        let long = String(repeating: "é", count: 300)
        let error = NFMError(.corruptShard, "out of range", at: .init(file: "a.nfms", field: "rows", value: long))
        let text = error.description
        #expect(text.hasPrefix("a.nfms: field rows = éé"))
        #expect(text.hasSuffix("…: out of range"))
        #expect(text.utf8.count < 260)
        #expect(NFMError(.input, file: "t.csv", line: 3, column: 7, "expected 4 fields").description == "t.csv:3:7: expected 4 fields")
    }

    @Test func namesBecomeSafePathComponents() {
        #expect(FileSystem.sanitizedComponent("../../escaped") == ".._.._escaped")
        #expect(FileSystem.sanitizedComponent("..") == "_..")
        #expect(FileSystem.sanitizedComponent("") == "_")
        #expect(FileSystem.sanitizedComponent("frappe-v1.2_x") == "frappe-v1.2_x")
    }
}
