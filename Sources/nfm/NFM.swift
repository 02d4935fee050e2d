import ArgumentParser
import NFMFormat

@main
struct NFM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nfm",
        abstract: "Build Neural Factorization Machine datasets from raw logs and train NFM and its baselines (FM, LR, Wide&Deep, DeepCross, HOFM).",
        version: ToolInfo.version,
        subcommands: [Build.self, BuildStep.self, Inspect.self, Verify.self, Synth.self, ExportLibFM.self, ImportLibFM.self, Train.self, Evaluate.self, Predict.self, ExportModel.self, ExperimentCommand.self])
}
