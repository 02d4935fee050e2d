import Foundation
import NFMExperiments
import NFMFormat
import NFMModel
import NFMTestSupport
import Testing

#if canImport(FoundationXML)
    import FoundationXML
#endif

@Suite struct ExperimentTests {
    @Test func catalogMatchesThePaper() {
        let grid = ExperimentGrid()
        let table2 = Experiment(.table2, grid: grid)
        #expect(table2.runs.count == 5 * 4)
        #expect(Set(table2.runs.map(\.group)) == ["NFM-0", "NFM-1", "NFM-2", "NFM-3", "NFM-4"])
        #expect(table2.runs.first { $0.group == "NFM-3" }!.layers == [64, 64, 64])
        let table3 = Experiment(.table3, grid: grid)
        let groups = Set(table3.runs.map(\.group))
        for k in [128, 256] {
            for method in ["FM", "HOFM", "Wide&Deep", "Wide&Deep (pre-train)", "DeepCross", "DeepCross (pre-train)", "NFM"] {
                #expect(groups.contains("\(method) k=\(k)"))
            }
        }
        #expect(table3.runs.filter { $0.pretrainFrom != nil }.allSatisfy { $0.pretrainFrom!.hasPrefix("FM k=") })
        #expect(Experiment(.fig3, grid: grid).runs.count == 10 + 6)
        #expect(Experiment(.fig6, grid: grid).runs.count == 4 * 10)
        for kind in Experiment.Kind.allCases {
            let runs = Experiment(kind, grid: grid).runs
            #expect(Set(runs.map(\.name)).count == runs.count, "names are unique in \(kind)")
            #expect(Set(runs.map(\.id)).count == runs.count, "ids are unique in \(kind)")
        }
    }

    @Test func restrictingKeepsGroupsAndTheirPretrainingSources() {
        let table3 = Experiment(.table3, grid: ExperimentGrid())
        let some = table3.restricted(toGroupsStartingWith: ["LR", "NFM"])
        #expect(Set(some.runs.map(\.group)) == ["LR", "NFM k=128", "NFM k=256"])
        let pre = table3.restricted(toGroupsStartingWith: ["Wide&Deep (pre-train) k=128"])
        #expect(Set(pre.runs.map(\.group)) == ["Wide&Deep (pre-train) k=128", "FM k=128"])
    }

    @Test func narrowedGridsChangeRunsAndIds() {
        var grid = ExperimentGrid()
        let before = Experiment(.table2, grid: grid).runs.map(\.id)
        grid.learningRates = [0.05]
        let after = Experiment(.table2, grid: grid).runs
        #expect(after.count == 5)
        #expect(Set(after.map(\.id)).isSubset(of: Set(before)))
        grid.seed = 7
        #expect(Set(Experiment(.table2, grid: grid).runs.map(\.id)).isDisjoint(with: Set(before)))
    }

    @Test func runsResumesAndReports() throws {
        let (directory, _) = try TestSupport.build(definition: "frappe.json", input: TestSupport.fixture("frappe-synthetic.tsv"))
        let dataset = try Dataset.load(directory: directory)
        var grid = ExperimentGrid()
        grid.epochs = 2
        grid.factors = 8
        let experiment = Experiment(.fig7, grid: grid)
        let out = TestSupport.temporaryDirectory("experiment")
        let first = try ExperimentRunner(dataset: dataset, experiment: experiment, directory: out, jobs: 2, log: { _ in }).run()
        #expect(first.count == 3)
        #expect(first.allSatisfy { $0.records.count >= 1 && $0.parameters > 0 })
        // FM k=8 on 10 fields: linear + embeddings + bias (no trained prediction vector).
        #expect(first[0].parameters == dataset.manifest.featureCount * 9 + 1)
        // Pre-training started from the FM checkpoint: epoch-1 metrics differ from scratch.
        #expect(first[1].records[0].validation != first[2].records[0].validation)

        // A second run trains nothing: every result is read back unchanged.
        final class Lines: @unchecked Sendable { var lines: [String] = [] }
        let lines = Lines()
        let second = try ExperimentRunner(
            dataset: dataset, experiment: experiment, directory: out, jobs: 1, log: { lines.lines.append($0) }
        ).run()
        #expect(lines.lines == ["resuming: 3 of 3 runs already finished"])
        #expect(second.map(\.records) == first.map(\.records))

        // Same seed, one job instead of two: identical metrics.
        let again = TestSupport.temporaryDirectory("experiment")
        let serial = try ExperimentRunner(dataset: dataset, experiment: experiment, directory: again, jobs: 1, log: { _ in }).run()
        #expect(serial.map { $0.records.map(\.validation) } == first.map { $0.records.map(\.validation) })

        let report = ExperimentReport(
            experiment: experiment, results: first, datasetName: "frappe", manifestSHA256: dataset.manifestSHA256, grid: grid)
        try report.write(to: out)
        let markdown = try String(contentsOfFile: out + "/results.md", encoding: .utf8)
        #expect(markdown.contains("| NFM-1 with FM pre-training | 2 |"))
        let svg = try Data(contentsOf: URL(fileURLWithPath: out + "/figure.svg"))
        #expect(XMLParser(data: svg).parse())
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/results.json"))) as? [String: Any]
        #expect((json?["runs"] as? [Any])?.count == 3)
    }

    @Test func tableReportPicksTheBestValidationRunOfEachGroup() throws {
        let (directory, _) = try TestSupport.build(definition: "frappe.json", input: TestSupport.fixture("frappe-synthetic.tsv"))
        let dataset = try Dataset.load(directory: directory)
        var grid = ExperimentGrid()
        grid.epochs = 1
        grid.factors = 4
        grid.learningRates = [0.005, 0.05]
        let experiment = Experiment(.table2, grid: grid)
        let results = try ExperimentRunner(
            dataset: dataset, experiment: experiment, directory: TestSupport.temporaryDirectory("experiment"), jobs: 2,
            log: { _ in }
        ).run()
        let report = ExperimentReport(
            experiment: experiment, results: results, datasetName: "frappe", manifestSHA256: "x", grid: grid)
        #expect(report.groupBest.map(\.group) == ["NFM-0", "NFM-1", "NFM-2", "NFM-3", "NFM-4"])
        for (group, best) in report.groupBest {
            let members = results.filter { $0.spec.group == group }
            #expect(best.bestValidation == members.map(\.bestValidation).min())
        }
        #expect(report.markdown().contains("| NFM-1 |"))
        #expect(report.markdown().contains("0.3133"))  // the paper's NFM-1 on Frappe
    }
}

/// Every experiment runs end to end on the fixture with tiny grids (a smoke test of the whole catalog,
/// baselines and pre-training included).
@Suite struct ExperimentSmokeTests {
    @Test(arguments: Experiment.Kind.allCases)
    func runsOnTheFixture(kind: Experiment.Kind) throws {
        let (directory, _) = try TestSupport.build(definition: "frappe.json", input: TestSupport.fixture("frappe-synthetic.tsv"))
        let dataset = try Dataset.load(directory: directory)
        var grid = ExperimentGrid()
        grid.epochs = 1
        grid.factors = 4
        grid.tableFactors = [4]
        grid.learningRates = [0.05]
        grid.dropouts = [0, 0.5]
        grid.l2s = [1e-3]
        grid.wideDeepLayers = [8, 4]
        grid.deepCrossLayers = [8, 4]
        let experiment = Experiment(kind, grid: grid)
        let out = TestSupport.temporaryDirectory("smoke")
        let results = try ExperimentRunner(dataset: dataset, experiment: experiment, directory: out, jobs: 2, log: { _ in }).run()
        #expect(results.count == experiment.runs.count)
        #expect(results.allSatisfy { $0.bestValidation.isFinite && $0.parameters > 0 })
        let report = ExperimentReport(
            experiment: experiment, results: results, datasetName: "frappe", manifestSHA256: dataset.manifestSHA256, grid: grid)
        try report.write(to: out)
        #expect(XMLParser(data: try Data(contentsOf: URL(fileURLWithPath: out + "/figure.svg"))).parse())
        #expect(try String(contentsOfFile: out + "/results.md", encoding: .utf8).contains("|---|"))
    }
}
