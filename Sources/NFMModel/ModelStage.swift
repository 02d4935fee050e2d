import NFMKernels

/// A part of a model that owns parameters: their checkpoint names, their initialisation, and the
/// per-workspace scratch memory its forward and backward passes use.
///
/// Stages hold no per-batch state (a model is shared by the threads of an evaluation); everything a
/// pass writes lives in the `StageScratch` the stage made for a `Workspace`.
protocol ModelStage: AnyObject {
    /// Stored tensors by checkpoint name, in checkpoint order.
    var namedTensors: [(name: String, buffer: FloatBuffer)] { get }
    /// Dense trainable tensors, in update order (their gradients: `StageScratch.denseGradients`).
    var denseTrainable: [FloatBuffer] { get }
    /// Tables updated only on the rows of a batch's features (their gradients, one row per batch slot:
    /// `StageScratch.sparseGradients`).
    var sparseTrainable: [SparseParameter] { get }
    /// Batch-norm layers whose moving statistics `Model.prepareInference()` folds.
    var batchNorms: [BatchNormParameters] { get }
    /// When the stage draws its initial values, relative to the others (`Model.initialize(seed:)`).
    var initializationRank: InitializationRank { get }
    /// Draws the stage's initial values from `random`.
    func initialize(random: inout Xoshiro256)
    /// Scratch for passes over at most `capacity` rows.
    func makeScratch(capacity: Int) -> StageScratch
    /// The dropout masks the next training-mode forward pass over `rows` rows will use, in the order it
    /// draws them; the pass then uses them instead of drawing (`DropoutScratch.request`).
    func maskRequests(rows: Int, scratch: StageScratch) -> [MaskRequest]
}

extension ModelStage {
    var denseTrainable: [FloatBuffer] { [] }
    var sparseTrainable: [SparseParameter] { [] }
    var batchNorms: [BatchNormParameters] { [] }
    func initialize(random: inout Xoshiro256) {}
    func maskRequests(rows: Int, scratch: StageScratch) -> [MaskRequest] { [] }
}

/// The order in which stages draw their initial values from the one initialisation stream: the order in
/// which the model kinds were added, so that adding a kind never changed an older model's draws
/// (embeddings, hidden layers, prediction vector, then HOFM's order-3 embeddings and DeepCross's units).
enum InitializationRank: Int, Comparable {
    case embeddings, hiddenLayers, predictionVector, orderThreeEmbeddings, residualUnits

    static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// A `featureCount × width` table (first-order weights, embeddings) updated sparsely: only the rows of
/// the features present in a batch. `regularized` tables get the optimiser's L2 term.
struct SparseParameter {
    let table: FloatBuffer
    let width: Int
    let regularized: Bool
}

/// A stage's scratch for one workspace: its activations, masks and gradients. Stages subclass it.
class StageScratch {
    /// Gradients of the stage's `denseTrainable`, same order and shapes.
    let denseGradients: [FloatBuffer]
    /// Gradients of the stage's `sparseTrainable`, one row per batch slot (grown as needed).
    private(set) var sparseGradients: [FloatBuffer]
    /// Row width of each sparse gradient.
    private let sparseWidths: [Int]
    /// The threads of the workspace this scratch belongs to (set by `Workspace`).
    var pool: WorkerPool = .serial

    init(stage: some ModelStage) {
        denseGradients = stage.denseTrainable.map { FloatBuffer(count: $0.count) }
        sparseGradients = stage.sparseTrainable.map { _ in FloatBuffer(count: 0) }
        sparseWidths = stage.sparseTrainable.map(\.width)
    }

    /// Makes room for `slots` rows in each sparse gradient (the slot-major backward kernels overwrite
    /// every slot's row).
    func reserveSparseGradients(slots: Int) {
        for (i, width) in sparseWidths.enumerated() {
            if sparseGradients[i].count < slots * width {
                let rows = max(slots, 2 * (width > 0 ? sparseGradients[i].count / width : 0))
                sparseGradients[i] = FloatBuffer(count: rows * width)
            }
        }
    }
}

/// The first stage of an interaction term: reads the sparse rows, writes a dense `rows × outputWidth`
/// activation.
protocol SparseInputStage: ModelStage {
    var outputWidth: Int { get }
    /// Forward over `x`; returns the activation the next stage reads (in `scratch`).
    func forward(_ x: SparseRows, scratch: StageScratch, training: Bool, random: inout Xoshiro256)
        -> UnsafeMutablePointer<Float>
    /// `forward`, but its last row-wise job may be handed back as `pending` instead of run (the caller
    /// then runs it on every row block before reading the output there).
    func forwardDeferringRows(
        _ x: SparseRows, scratch: StageScratch, training: Bool, random: inout Xoshiro256
    ) -> (output: UnsafeMutablePointer<Float>, pending: RowWork?)
    /// Backward after a training-mode forward of the same rows, with `∂L/∂output` in `gradient`
    /// (overwritten); writes the sparse gradients, one row per batch slot of `slots`.
    func backward(
        _ x: SparseRows, gradient: UnsafeMutablePointer<Float>, scratch: StageScratch, slots: SlotAssignment)
}

/// Row-wise work one stage hands to the next, to run on each block of rows (`WorkerPool.rowGrain`)
/// inside the next stage's first row job rather than in a job of its own.
typealias RowWork = (Range<Int>) -> Void

extension SparseInputStage {
    /// `forward`, with no work handed on (stages that have none to defer).
    func forwardDeferringRows(
        _ x: SparseRows, scratch: StageScratch, training: Bool, random: inout Xoshiro256
    ) -> (output: UnsafeMutablePointer<Float>, pending: RowWork?) {
        (forward(x, scratch: scratch, training: training, random: &random), nil)
    }
}

/// A dense stage between the input stage and the head: hidden layers or residual units.
protocol HiddenStage: ModelStage {
    var outputWidth: Int { get }
    /// Forward over `rows` rows of `input`; returns the activation the next stage reads. `pending` (the
    /// input stage's last row-wise work) runs on each row block before the stage reads that block.
    func forward(
        rows: Int, input: UnsafeMutablePointer<Float>, scratch: StageScratch, training: Bool,
        random: inout Xoshiro256, pending: RowWork?
    ) -> UnsafeMutablePointer<Float>
    /// Backward with `∂L/∂output` in `gradient` (overwritten): writes the dense gradients and returns
    /// `∂L/∂input` (in `scratch`).
    func backward(
        rows: Int, input: UnsafeMutablePointer<Float>, gradient: UnsafeMutablePointer<Float>, scratch: StageScratch
    ) -> UnsafeMutablePointer<Float>
}

/// The last stage of an interaction term: adds one value per row to the prediction.
protocol OutputHead: ModelStage {
    /// `output[r] += head(input[r])`.
    func forward(
        rows: Int, input: UnsafeMutablePointer<Float>, scratch: StageScratch, training: Bool,
        random: inout Xoshiro256, output: UnsafeMutablePointer<Float>)
    /// Backward with `∂L/∂ŷ` in `gradOutput`: writes the dense gradients and returns `∂L/∂input`.
    func backward(
        rows: Int, input: UnsafeMutablePointer<Float>, gradOutput: UnsafePointer<Float>, scratch: StageScratch
    ) -> UnsafeMutablePointer<Float>
}

extension StageScratch {
    /// This scratch as the concrete type its stage made (a programming error otherwise).
    @inline(__always) func of<T: StageScratch>(_ type: T.Type) -> T { unsafeDowncast(self, to: T.self) }
}
