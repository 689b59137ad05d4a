/// How a tensor of a layer starts: Keras's default initialisers.
public enum Initializer: String, Sendable {
    /// `U(-limit, limit)`, `limit = sqrt(6 / (fan_in + fan_out))` (see `Initialization.fans`).
    case glorotUniform = "glorot_uniform"
    case zeros
    case ones
}

/// A named tensor a layer owns: a parameter (trained) or a state tensor (non-trainable, e.g. a
/// batch-norm moving mean), in Keras's shape and name (`kernel`, `bias`, `gamma`, `moving_mean`, ...),
/// with its weight penalty if it has one (Keras's `kernel_regularizer`).
public struct TensorSpec: Equatable, Sendable {
    public var name: String
    public var shape: [Int]
    public var initializer: Initializer
    public var regularizer: Regularizer?
    public init(_ name: String, _ shape: [Int], _ initializer: Initializer, regularizer: Regularizer? = nil) {
        self.name = name
        self.shape = shape
        self.initializer = initializer
        self.regularizer = regularizer
    }
    public var count: Int { shape.reduce(1, *) }
}

/// A layer kind, described in one place: its config keys, its Keras names, its tensors, and its
/// forward/backward pair over flat NHWC buffers. Adding a layer is one file with one such type,
/// plus one line in `LayerRegistry.kinds`. Faster paths are opt-in protocols (`LayerFastPaths.swift`):
/// a layer adopts one only where it has that path, and the runner looks them up once, when binding.
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
/// - A sample's outputs depend on that sample alone (and on the global-batch statistics of a
///   `GlobalBatchStatistics` layer, the same for every split), never on which other samples share the call.
/// Layers allocate nothing: every buffer comes from the caller, sized by the `*Count` methods.
public protocol Layer: Sendable {
    /// The config's `type` name, e.g. `conv2d`.
    static var typeName: String { get }
    /// Keras's class name, shown by `summary` and used by the exporters, e.g. `Conv2D`.
    static var kerasClassName: String { get }
    /// Keras's default layer-name stem; the model numbers them (`conv2d_1`) to name tensors.
    /// Default: the class name in snake case, as Keras makes it (`MaxPooling2D` -> `max_pooling2d`).
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
    /// Trainable tensors in storage order, e.g. `kernel [3, 3, 1, 32]`, `bias [32]` (default: none).
    var parameters: [TensorSpec] { get }
    /// Non-trainable tensors (checkpointed, broadcast, not optimised; default: none).
    var stateTensors: [TensorSpec] { get }

    /// Floats kept from `forward` to `backward` (`LayerMemory.saved`; default 0).
    func savedCount(batch: Int) -> Int
    /// Temporary floats for one call (`LayerMemory.scratch`; default 0).
    func scratchCount(batch: Int) -> Int

    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                 parameters: UnsafePointer<Float>, memory: LayerMemory, context: PassContext)

    func backward(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                  dx: UnsafeMutablePointer<Float>?, batch: Int,
                  parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Double>,
                  memory: LayerMemory, context: PassContext)
}

extension Layer {
    public static var kerasNameStem: String { snakeCase(kerasClassName) }
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }
    public var stateCount: Int { stateTensors.reduce(0) { $0 + $1.count } }
    public var parameters: [TensorSpec] { [] }
    public var stateTensors: [TensorSpec] { [] }
    public func savedCount(batch: Int) -> Int { 0 }
    public func scratchCount(batch: Int) -> Int { 0 }

    public var typeName: String { Self.typeName }
    public var kerasClassName: String { Self.kerasClassName }
    public var kerasNameStem: String { Self.kerasNameStem }
}

/// Keras's `to_snake_case` for a class name: `_` before each capitalised word and between a lower-case
/// letter and a capital, then lower case (`BatchNormalization` -> `batch_normalization`, `Conv2D` -> `conv2d`).
func snakeCase(_ name: String) -> String {
    let characters = Array(name)
    var out = ""
    for (i, c) in characters.enumerated() {
        let startsWord = i > 0 && c.isUppercase && i + 1 < characters.count && characters[i + 1].isLowercase
        let afterLower = i > 0 && c.isUppercase && characters[i - 1].isLowercase
        if startsWord || afterLower { out.append("_") }
        out.append(c)
    }
    return out.lowercased()
}

/// Shape checks shared by the layers' `bound(to:)`.
public extension TensorShape {
    /// Throws unless this is `[height, width, channels]`.
    func requireImage(_ layer: String) throws {
        guard rank == 3 else { throw DescriptionError("\(layer) needs an image input [height, width, channels], got \(self)") }
    }
}
