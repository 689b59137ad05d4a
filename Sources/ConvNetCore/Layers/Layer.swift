/// Memory a layer may use while running a batch. All of it belongs to one worker thread.
public struct LayerMemory {
    /// Floats kept from `forward` to `backward` (e.g. the im2col matrix), `savedCount(batch:)` long.
    public var saved: UnsafeMutablePointer<Float>
    /// Temporary floats, valid only during one call, `scratchCount(batch:)` long; shared by all layers.
    public var scratch: UnsafeMutablePointer<Float>
    /// What `prepare(parameters:into:)` wrote for the current parameters, `preparedCount` long;
    /// read-only here, shared by all threads.
    public var prepared: UnsafePointer<Float>

    public init(saved: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>, prepared: UnsafePointer<Float>) {
        self.saved = saved
        self.scratch = scratch
        self.prepared = prepared
    }
}

/// A layer: a forward/backward pair over flat NHWC buffers.
///
/// Contract, for a batch of `batch` samples:
/// - `forward` reads `x[batch, inputShape]` and this layer's parameters (its slice of the flat
///   parameter buffer, tensors in `parameterShapes` order) and writes `y[batch, outputShape]`.
/// - `backward` reads `x`, `y` and `dy` (the loss gradient with respect to `y`; it may overwrite
///   `dy`), **adds** the batch's parameter gradients into `gradients` (same slice layout as the
///   parameters), and, when `dx` is non-nil, overwrites `dx[batch, inputShape]` with the gradient
///   with respect to `x`.
/// - Parameter gradients are summed in Double over per-sample contributions that are each computed
///   in Float by a fixed sequence of operations. Float sums over a batch would round differently for
///   every way of splitting the batch (threads, ranks); these sums are exact to ~1e-16, so the
///   gradient, once rounded to Float, does not depend on the split, and neither does training.
/// Layers allocate nothing: every buffer comes from the caller, sized by the `*Count` methods.
public protocol Layer: Sendable {
    /// Keras class-style name stem, e.g. `conv2d`; the model numbers them (`conv2d_1`).
    var kind: String { get }
    var inputShape: TensorShape { get }
    var outputShape: TensorShape { get }
    /// Parameter tensors in storage order, e.g. `[("kernel", [3, 3, 1, 32]), ("bias", [32])]`.
    var parameterShapes: [(name: String, shape: [Int])] { get }

    func savedCount(batch: Int) -> Int
    func scratchCount(batch: Int) -> Int

    /// Floats derived from the parameters once per optimizer step rather than once per call
    /// (the kernel transposed for the input gradient), so the threads' many small calls share them.
    var preparedCount: Int { get }
    /// Writes those `preparedCount` floats from this layer's parameters. Called before `backward`
    /// whenever the parameters change.
    func prepare(parameters: UnsafePointer<Float>, into prepared: UnsafeMutablePointer<Float>)

    /// Multiply-adds for one sample's forward pass, for FLOP accounting.
    var forwardMultiplyAdds: Int { get }

    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                 parameters: UnsafePointer<Float>, memory: LayerMemory)

    func backward(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                  dx: UnsafeMutablePointer<Float>?, batch: Int,
                  parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Double>,
                  memory: LayerMemory)
}

extension Layer {
    public var parameterCount: Int { parameterShapes.reduce(0) { $0 + $1.shape.reduce(1, *) } }
    public func savedCount(batch: Int) -> Int { 0 }
    public func scratchCount(batch: Int) -> Int { 0 }
    public var forwardMultiplyAdds: Int { 0 }
    public var preparedCount: Int { 0 }
    public func prepare(parameters: UnsafePointer<Float>, into prepared: UnsafeMutablePointer<Float>) {}

    /// `prepare` into a new array (at least one element, so it always has an address); for running
    /// a layer on its own, as the tests do.
    public func prepared(parameters: [Float]) -> [Float] {
        var result = [Float](repeating: 0, count: max(preparedCount, 1))
        result.withUnsafeMutableBufferPointer { prepare(parameters: parameters, into: $0.baseAddress!) }
        return result
    }
}
