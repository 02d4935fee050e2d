import Foundation
import NFMFormat

/// `nfm export-model`: a checkpoint written out for other frameworks, as a directory of
/// ```
/// model.safetensors   the tensors (names, shapes and layouts below), F32
/// config.json         the architecture, the prediction rule and the features (`ModelExport.Config`)
/// vocab/FIELD.tsv     the embedded vocabularies (datasets built from raw logs)
/// definition.json     the embedded dataset definition (datasets built from raw logs)
/// .nfm-owner          nfm's output marker
/// ```
/// Tensor names follow PyTorch's conventions so that `load_state_dict` takes them as they are:
///
/// | name | shape | checkpoint tensor |
/// | --- | --- | --- |
/// | `bias` | `[]` | `bias` (w₀) |
/// | `linear` | `[F]` | `linear` (wᵢ; not DeepCross) |
/// | `embedding` | `[F, k]` | `embeddings` (vᵢ; HOFM: order-2 `P`; not LR) |
/// | `embedding3` | `[F, k]` | `embeddings3` (HOFM's order-3 `Q`) |
/// | `bi_norm.{weight,bias,running_mean,running_var}` | `[k]` | `bi_norm.{gamma,beta,moving_mean,moving_variance}` |
/// | `layers.i.weight` | `[out, in]` | `layer<i>.weight` (stored `[in, out]`: transposed) |
/// | `layers.i.bias` | `[out]` | `layer<i>.bias` |
/// | `layers.i.norm.{weight,bias,running_mean,running_var}` | `[out]` | `layer<i>.norm.*` |
/// | `residuals.u.linear1.weight` | `[h, d]` | `residual<u>.weight1` (stored `[d, h]`: transposed) |
/// | `residuals.u.linear1.bias` | `[h]` | `residual<u>.bias1` |
/// | `residuals.u.linear2.weight` | `[d, h]` | `residual<u>.weight2` (stored `[h, d]`: transposed) |
/// | `residuals.u.linear2.bias` | `[d]` | `residual<u>.bias2` |
/// | `prediction` | `[width]` | `prediction` (h; ones for FM; not LR, HOFM) |
///
/// A dense layer computes `a·Wᵀ + b` with the exported `W` (`[out, in]`), i.e. `torch.nn.Linear`.
public enum ModelExport {
    /// Version of the exported directory's layout (`config.json` → `format_version`).
    public static let formatVersion = 1
    /// The tensors' file in the exported directory.
    public static let tensorsFile = "model.safetensors"
    /// The configuration's file in the exported directory (`Config`, snake_case JSON).
    public static let configFile = "config.json"
    /// The dataset definition's file, written when the checkpoint embeds one.
    public static let definitionFile = "definition.json"
    /// The directory of the exported vocabularies (`vocab/NAME.tsv`).
    public static let vocabularyDirectory = "vocab"

    /// An exported tensor and the checkpoint tensor it holds.
    public struct Tensor: Sendable {
        /// The tensor as written to `model.safetensors` (name, shape, values).
        public var tensor: SafetensorsTensor
        /// The checkpoint tensor's name (`Model.namedTensors`).
        public var source: String
        /// True when the values are the checkpoint's `[rows, columns]` matrix transposed.
        public var transposed: Bool
    }

    /// The exported tensors of `model`, in checkpoint order. Complexity O(parameters).
    public static func tensors(of model: Model) -> [Tensor] {
        let config = model.config
        let features = config.featureCount
        let k = config.factors
        var out: [Tensor] = []
        func add(_ name: String, _ shape: [Int], _ buffer: FloatBuffer, _ source: String) {
            out.append(Tensor(tensor: .init(name: name, shape: shape, values: values(buffer)), source: source, transposed: false))
        }
        func addTransposed(_ name: String, rows: Int, columns: Int, _ buffer: FloatBuffer, _ source: String) {
            var values = [Float](repeating: 0, count: rows * columns)
            for r in 0..<rows { for c in 0..<columns { values[c * rows + r] = buffer[r * columns + c] } }
            out.append(Tensor(tensor: .init(name: name, shape: [columns, rows], values: values), source: source, transposed: true))
        }
        func addNorm(_ norm: BatchNormParameters, _ prefix: String, _ source: String) {
            let width = norm.gamma.count
            add("\(prefix).weight", [width], norm.gamma, "\(source).gamma")
            add("\(prefix).bias", [width], norm.beta, "\(source).beta")
            add("\(prefix).running_mean", [width], norm.movingMean, "\(source).moving_mean")
            add("\(prefix).running_var", [width], norm.movingVariance, "\(source).moving_variance")
        }
        add("bias", [], model.bias, "bias")
        if config.kind.hasLinearPart { add("linear", [features], model.linear, "linear") }
        if config.kind != .lr { add("embedding", [features, k], model.embeddings, "embeddings") }
        if config.kind == .hofm { add("embedding3", [features, k], model.embeddings3, "embeddings3") }
        if let norm = model.biNorm { addNorm(norm, "bi_norm", "bi_norm") }
        for (i, layer) in model.layers.enumerated() {
            addTransposed("layers.\(i).weight", rows: layer.inputWidth, columns: layer.width, layer.weight, "layer\(i).weight")
            add("layers.\(i).bias", [layer.width], layer.bias, "layer\(i).bias")
            if let norm = layer.norm { addNorm(norm, "layers.\(i).norm", "layer\(i).norm") }
        }
        for (u, unit) in model.residuals.enumerated() {
            let prefix = "residuals.\(u)"
            addTransposed("\(prefix).linear1.weight", rows: unit.width, columns: unit.hidden, unit.weight1, "residual\(u).weight1")
            add("\(prefix).linear1.bias", [unit.hidden], unit.bias1, "residual\(u).bias1")
            addTransposed("\(prefix).linear2.weight", rows: unit.hidden, columns: unit.width, unit.weight2, "residual\(u).weight2")
            add("\(prefix).linear2.bias", [unit.width], unit.bias2, "residual\(u).bias2")
        }
        if config.kind != .lr && config.kind != .hofm {
            add("prediction", [config.outputWidth], model.prediction, "prediction")
        }
        return out
    }

    private static func values(_ buffer: FloatBuffer) -> [Float] {
        (0..<buffer.count).map { buffer[$0] }
    }

    /// Exports the checkpoint at `checkpointPath` into `directory`, claimed as an nfm `.model` output
    /// (absent or empty; an earlier nfm output only with `force`; never the checkpoint's own directory).
    /// The directory is removed again if anything fails.
    public static func export(checkpointPath: String, to directory: String, force: Bool) throws -> Config {
        let checkpoint = try Checkpoint.load(path: checkpointPath)
        let config = try Config(checkpoint: checkpoint)
        let files = try vocabularyFiles(checkpoint)
        let output = try OutputDirectory.claim(directory, kind: .model, force: force, inputs: [checkpointPath])
        defer { output.close() }
        do {
            let tool = ToolInfo.name
            let tensors = Self.tensors(of: checkpoint.model).map(\.tensor)
            let metadata = ["format": "pt", "producer": tool, "nfm.kind": config.kind, "nfm.format_version": "\(formatVersion)"]
            try FileSystem.writeAtomically(Safetensors.encode(tensors, metadata: metadata), to: directory + "/" + tensorsFile)
            try FileSystem.writeAtomically(try config.encoded(), to: directory + "/" + configFile)
            if let definition = checkpoint.header.definition {
                try FileSystem.writeAtomically(Array(definition.text.utf8), to: directory + "/" + definitionFile)
            }
            if !files.isEmpty { try FileSystem.createDirectory(directory + "/" + vocabularyDirectory) }
            for (path, text) in files { try FileSystem.writeAtomically(Array(text.utf8), to: directory + "/" + path) }
            output.commit()
        } catch {
            output.abandon()
            throw error
        }
        return config
    }

    /// The embedded vocabularies as (exported path, text), each checked against the SHA-256 its field
    /// recorded at training time.
    static func vocabularyFiles(_ checkpoint: Checkpoint) throws -> [(String, String)] {
        var out: [(String, String)] = []
        let fields = checkpoint.header.dataset.fields
        for (field, exported) in zip(fields, Config.vocabularyPaths(of: fields)) {
            guard let path = field.vocabulary, let file = checkpoint.header.vocabularies.first(where: { $0.path == path }) else {
                continue
            }
            if let expected = field.vocabularySHA256, SHA256.hexDigest(of: Array(file.text.utf8)) != expected {
                throw NFMError(
                    .checkpoint, "the embedded vocabulary does not match the SHA-256 recorded for its field",
                    at: .init(field: field.name, value: path))
            }
            out.append((exported, file.text))
        }
        return out
    }
}
