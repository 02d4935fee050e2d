import ArgumentParser
import Foundation
import NFMFormat
import NFMModel

struct ExportModel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-model",
        abstract: "Write a checkpoint as safetensors, a JSON config and its vocabularies.",
        discussion: """
            DIR gets model.safetensors (F32 tensors with PyTorch-style names: embedding [features, k],
            linear [features], bias [], layers.i.weight [out, in], batch norm's weight, bias, running_mean
            and running_var, prediction), config.json (kind, factors, layers, activation, batch norm,
            loss, label range and clipping, features, fields) and vocab/ (the embedded vocabularies).
            Load it in Python with `nfm_shards.load_model(DIR)`. DIR must be absent or empty; an earlier
            nfm output is replaced only with --force; the checkpoint's own directory is refused.
            """)

    @Argument(help: "The checkpoint (model.nfmc).")
    var checkpoint: String

    @Option(help: "The output directory.")
    var out: String

    @Flag(help: "Replace an earlier nfm output in --out.")
    var force = false

    func run() throws {
        try runMapped {
            let config = try ModelExport.export(checkpointPath: checkpoint, to: out, force: force)
            let parameters = config.tensors.reduce(0) { $0 + $1.shape.reduce(1, *) }
            print("exported \(config.kind) (\(config.tensors.count) tensors, \(parameters) values) to \(out)")
        }
    }
}
