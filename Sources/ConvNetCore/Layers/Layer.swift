/// How a tensor of a layer starts: Keras's default initialisers.
public enum Initializer: String, Sendable {
    /// `U(-limit, limit)`, `limit = sqrt(6 / (fan_in + fan_out))` (see `Initialization.fans`).
    case glorotUniform = "glorot_uniform"
    case zeros
    case ones
}

/// A named tensor a layer owns: a parameter (trained) or a state tensor (non-trainable, e.g. a
/// batch-norm moving mean), in Keras's shape and name (`kernel`, `bias`, `gamma`, `moving_mean`, ...).
public struct TensorSpec: Equatable, Sendable {
    public var name: String
    public var shape: [Int]
    public var initializer: Initializer
    public init(_ name: String, _ shape: [Int], _ initializer: Initializer) {
        self.name = name
        self.shape = shape
        self.initializer = initializer
    }
    public var count: Int { shape.reduce(1, *) }
}

/// What a pass is for and where its samples come from.
public struct PassContext {
    /// Training mode (dropout active, batch norm on batch statistics) or inference.
    public var training: Bool
    /// Optimizer steps already taken (Keras's `iterations`): the step being computed, from 0.
    public var globalStep: Int
    /// The run's seed, for layers that draw random numbers.
    public var seed: UInt64
    /// Identity of each sample of the call, `batch` long: its index in the data set, the same
    /// whichever rank, thread or chunk computes it. Dropout draws its mask from it.
    public var sampleIDs: UnsafePointer<Int64>
    /// The layer's position in the model (from 0), so two dropout layers draw different masks.
    public var layerIndex: Int = 0
    /// Backward only: `dy` is already the gradient with respect to the layer's pre-activation, because
    /// the loss fused its softmax with cross-entropy (`Loss.fusesSoftmax`), or because the next layer
    /// applied this layer's ReLU backward to its own `dx` (`Layer.absorbsInputReLUBackward`).
    public var outputGradientIsPreActivation: Bool
    /// Backward only: this layer's input is the output of a ReLU (`Layer.endsInReLU`) whose backward
    /// pass this layer applies to `dx`, zero wherever the input is not positive, so that the layer
    /// below skips a whole pass over its output.
    public var inputReLUBackward = false

    public init(training: Bool, globalStep: Int = 0, seed: UInt64 = 0, sampleIDs: UnsafePointer<Int64>,
                outputGradientIsPreActivation: Bool = false) {
        self.training = training
        self.globalStep = globalStep
        self.seed = seed
        self.sampleIDs = sampleIDs
        self.outputGradientIsPreActivation = outputGradientIsPreActivation
    }
}

/// Memory a layer may use while running a batch. All of it belongs to one worker thread, except
/// `prepared`, `state` and `statistics`, which all threads read.
public struct LayerMemory {
    /// Floats kept from `forward` to `backward` (e.g. the im2col matrix), `savedCount(batch:)` long.
    public var saved: UnsafeMutablePointer<Float>
    /// Temporary floats, valid only during one call, `scratchCount(batch:)` long; shared by all layers.
    public var scratch: UnsafeMutablePointer<Float>
    /// What `prepare(parameters:into:)` wrote for the current parameters, `preparedCount` long.
    public var prepared: UnsafePointer<Float>
    /// This layer's non-trainable state (its `stateTensors`, in order).
    public var state: UnsafePointer<Float>
    /// This layer's statistics of the whole global batch, `batchStatisticsCount` long, summed over
    /// every sample on every rank before `forward` (and again before `backward`) in training.
    public var statistics: UnsafePointer<Double>
    /// Training only, for a layer with `deferredCountPerSample > 0`: where `backward` writes those
    /// floats for its samples (the slots of this call's samples in its thread's share), leaving its
    /// weight gradient to `addDeferredGradients`. Nil: `backward` adds it itself (a layer run alone).
    public var deferred: UnsafeMutablePointer<Float>?

    public init(saved: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>, prepared: UnsafePointer<Float>,
                state: UnsafePointer<Float>, statistics: UnsafePointer<Double>, deferred: UnsafeMutablePointer<Float>? = nil) {
        self.saved = saved
        self.scratch = scratch
        self.prepared = prepared
        self.state = state
        self.statistics = statistics
        self.deferred = deferred
    }
}

/// A layer kind, described in one place: its config keys, its Keras names, its tensors, and its
/// forward/backward pair over flat NHWC buffers. Adding a layer is one file with one such type,
/// plus one line in `LayerRegistry.kinds`.
///
/// A value is first *described* (`init(config:)`, from a config table, with `inputShape` empty),
/// then *bound* to the shape of its input (`bound(to:)`), which validates the combination and makes
/// every shape method meaningful.
///
/// Pass contract, for a batch of `batch` samples:
/// - `forward` reads `x[batch, inputShape]`, this layer's parameters (its slice of the flat parameter
///   buffer, tensors in `parameters` order) and state, and writes `y[batch, outputShape]`.
/// - `backward` reads `x`, `y` and `dy` (the gradient of the summed loss with respect to `y`; it may
///   overwrite `dy`), **adds** the batch's parameter gradients into `gradients` (same slice layout
///   as the parameters), and, when `dx` is non-nil, overwrites `dx[batch, inputShape]`.
/// - Parameter gradients are summed in Double over per-sample contributions that are each computed
///   in Float by a fixed sequence of operations. Float sums over a batch would round differently for
///   every way of splitting the batch (threads, ranks); these sums are exact to ~1e-16, so the
///   gradient, once rounded to Float, does not depend on the split, and neither does training.
/// - A sample's outputs depend on that sample alone (and on the global-batch `statistics`, which are
///   the same for every split), never on which other samples share the call.
/// Layers allocate nothing: every buffer comes from the caller, sized by the `*Count` methods.
public protocol Layer: Sendable {
    /// The config's `type` name, e.g. `conv2d`.
    static var typeName: String { get }
    /// Keras's class name, shown by `summary`, e.g. `Conv2D`.
    static var kerasClassName: String { get }
    /// Keras's default layer-name stem; the model numbers them (`conv2d_1`) to name tensors.
    static var kerasNameStem: String { get }

    /// Reads this layer's keys from its config table (`type` is already read).
    init(config: ConfigTable) throws
    /// The keys that `init(config:)` reads back to an equal layer, in the order written.
    var config: [ConfigEntry] { get }
    /// A copy bound to its input shape; throws a message (without the layer's position) when the
    /// layer cannot take that input.
    func bound(to inputShape: TensorShape) throws -> Self

    var inputShape: TensorShape { get }
    var outputShape: TensorShape { get }
    /// Trainable tensors in storage order, e.g. `kernel [3, 3, 1, 32]`, `bias [32]`.
    var parameters: [TensorSpec] { get }
    /// Non-trainable tensors (checkpointed, broadcast, not optimised).
    var stateTensors: [TensorSpec] { get }
    /// Regularisation of parameter tensors, by tensor name.
    var regularizers: [(tensor: String, regularizer: Regularizer)] { get }

    func savedCount(batch: Int) -> Int
    func scratchCount(batch: Int) -> Int

    /// Floats derived from the parameters once per optimizer step rather than once per call
    /// (the kernel transposed for the input gradient), so the threads' many small calls share them.
    var preparedCount: Int { get }
    /// Writes those `preparedCount` floats from this layer's parameters. Called before `backward`
    /// whenever the parameters change; only `backward` may read them (`ModelRunner` prepares while
    /// other threads already run forward passes).
    func prepare(parameters: UnsafePointer<Float>, into prepared: UnsafeMutablePointer<Float>)

    /// Multiply-adds for one sample's forward pass, for FLOP accounting.
    var forwardMultiplyAdds: Int { get }
    /// The matrix product of the forward pass, per sample: `rowsPerSample x depth` by `depth x columns`
    /// (nil for layers without one); `bench` times BLAS and the row-wise kernel at that shape.
    var forwardProduct: (rowsPerSample: Int, columns: Int, depth: Int)? { get }

    /// The layer's output is a ReLU's, whose backward pass (`dy = y > 0 ? dy : 0`) the layer skips
    /// when `context.outputGradientIsPreActivation` says the next layer already applied it.
    var endsInReLU: Bool { get }
    /// The layer can apply the ReLU backward of the layer below to its `dx` (see
    /// `PassContext.inputReLUBackward`) at no cost: max pooling, whose `dx` is zero except at maxima.
    var absorbsInputReLUBackward: Bool { get }

    /// Floats per sample this layer keeps over a thread's whole share of a training batch, to add its
    /// weight gradient once per share rather than once per chunk (0, the default: no such floats).
    /// Worth it where the gradient's Double sums are large and each sample's part is cheap (a dense
    /// layer: a 576 x 64 kernel is 295 KB of Doubles, read and written again for every chunk).
    var deferredCountPerSample: Int { get }
    /// After every chunk of a share has run `backward` (with `memory.deferred` set): adds the weight
    /// gradients of the share's `samples` samples, in sample order, from the floats `backward` wrote.
    func addDeferredGradients(samples: Int, deferred: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Double>)

    /// Doubles of global-batch statistics this layer needs in training (0: none, the usual case).
    /// The runner zeroes them, lets every thread add its samples' share through
    /// `addForwardStatistics`, sums threads and ranks, and only then runs `forward`; likewise
    /// `addBackwardStatistics` before `backward`.
    var batchStatisticsCount: Int { get }
    func addForwardStatistics(_ x: UnsafePointer<Float>, batch: Int, into sums: UnsafeMutablePointer<Double>)
    func addBackwardStatistics(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, batch: Int,
                               statistics: UnsafePointer<Double>, into sums: UnsafeMutablePointer<Double>)
    /// Updates the state from the global statistics, once per training step (moving averages).
    func updateState(_ state: UnsafeMutablePointer<Float>, statistics: UnsafePointer<Double>)

    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                 parameters: UnsafePointer<Float>, memory: LayerMemory, context: PassContext)

    func backward(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                  dx: UnsafeMutablePointer<Float>?, batch: Int,
                  parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Double>,
                  memory: LayerMemory, context: PassContext)
}

extension Layer {
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }
    public var stateCount: Int { stateTensors.reduce(0) { $0 + $1.count } }
    public var parameters: [TensorSpec] { [] }
    public var stateTensors: [TensorSpec] { [] }
    public var regularizers: [(tensor: String, regularizer: Regularizer)] { [] }
    public func savedCount(batch: Int) -> Int { 0 }
    public func scratchCount(batch: Int) -> Int { 0 }
    public var forwardMultiplyAdds: Int { 0 }
    public var forwardProduct: (rowsPerSample: Int, columns: Int, depth: Int)? { nil }
    public var preparedCount: Int { 0 }
    public func prepare(parameters: UnsafePointer<Float>, into prepared: UnsafeMutablePointer<Float>) {}
    public var deferredCountPerSample: Int { 0 }
    public func addDeferredGradients(samples: Int, deferred: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Double>) {}
    public var batchStatisticsCount: Int { 0 }
    public func addForwardStatistics(_ x: UnsafePointer<Float>, batch: Int, into sums: UnsafeMutablePointer<Double>) {}
    public func addBackwardStatistics(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, batch: Int,
                                      statistics: UnsafePointer<Double>, into sums: UnsafeMutablePointer<Double>) {}
    public func updateState(_ state: UnsafeMutablePointer<Float>, statistics: UnsafePointer<Double>) {}
    public var endsInReLU: Bool { false }
    public var absorbsInputReLUBackward: Bool { false }

    public var typeName: String { Self.typeName }
    public var kerasClassName: String { Self.kerasClassName }
    public var kerasNameStem: String { Self.kerasNameStem }

    /// `prepare` into a new array (at least one element, so it always has an address); for running
    /// a layer on its own, as the tests do.
    public func prepared(parameters: [Float]) -> [Float] {
        var result = [Float](repeating: 0, count: max(preparedCount, 1))
        result.withUnsafeMutableBufferPointer { prepare(parameters: parameters, into: $0.baseAddress!) }
        return result
    }
}

/// Shape checks shared by the layers' `bound(to:)`.
public extension TensorShape {
    /// Throws unless this is `[height, width, channels]`.
    func requireImage(_ layer: String) throws {
        guard rank == 3 else { throw DescriptionError("\(layer) needs an image input [height, width, channels], got \(self)") }
    }
}
