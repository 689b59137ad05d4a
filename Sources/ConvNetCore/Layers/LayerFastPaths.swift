/// Opt-in protocols for what a layer may do beyond `Layer`'s contract, to go faster or to tell the
/// runner something. A layer adopts one only where it has that path; `Sequential` looks them up once,
/// when it binds the layers (`LayerFastPaths`), so no pass casts or asks again.

/// Floats derived from the parameters once per optimizer step rather than once per call (the kernel
/// transposed for the input gradient), so the threads' many small calls share them.
public protocol PreparedParameters: Layer {
    /// Floats `prepare` writes (`LayerMemory.prepared`).
    var preparedCount: Int { get }
    /// Writes those `preparedCount` floats from this layer's parameters. Called before `backward`
    /// whenever the parameters change; only `backward` may read them (`ModelRunner` prepares while
    /// other threads already run forward passes).
    func prepare(parameters: UnsafePointer<Float>, into prepared: UnsafeMutablePointer<Float>)
}

/// The weight gradient added once per thread's share of a training batch rather than once per chunk.
/// Worth it where the gradient's Double sums are large and each sample's part is cheap (a dense
/// layer's kernel gradient, read and written again for every chunk otherwise).
public protocol DeferredWeightGradients: Layer {
    /// Floats per sample that `backward` writes to `LayerMemory.deferred` when it is set.
    var deferredCountPerSample: Int { get }
    /// After every chunk of a share has run `backward` (with `memory.deferred` set): adds the weight
    /// gradients of the share's `samples` samples, in sample order, from the floats `backward` wrote.
    func addDeferredGradients(samples: Int, deferred: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Double>)
}

/// A layer that needs statistics of the whole global batch (every sample on every rank) in training,
/// as batch normalisation does. The runner zeroes them, lets every thread add its samples' share through
/// `addForwardStatistics`, sums threads and ranks, and only then runs `forward` (`LayerMemory.statistics`);
/// likewise `addBackwardStatistics` before `backward`.
public protocol GlobalBatchStatistics: Layer {
    /// Doubles of statistics.
    var statisticsCount: Int { get }
    func addForwardStatistics(_ x: UnsafePointer<Float>, batch: Int, into sums: UnsafeMutablePointer<Double>)
    func addBackwardStatistics(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, batch: Int,
                               statistics: UnsafePointer<Double>, into sums: UnsafeMutablePointer<Double>)
    /// `addBackwardStatistics` of a layer that runs the ReLU after it (`FusesOutputReLU`): `dy` is the
    /// gradient with respect to the ReLU's output, which the layer masks as the ReLU's backward would.
    func addBackwardStatisticsThroughReLU(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, batch: Int,
                                          parameters: UnsafePointer<Float>, statistics: UnsafePointer<Double>,
                                          into sums: UnsafeMutablePointer<Double>)
    /// Updates the state from the global statistics, once per training step (moving averages).
    func updateState(_ state: UnsafeMutablePointer<Float>, statistics: UnsafePointer<Double>)
}

/// The layer's output is a ReLU's, whose backward pass (`dy = y > 0 ? dy : 0`) the layer skips when
/// `context.outputGradientIsPreActivation` says the next layer already applied it.
public protocol EndsInReLU: Layer {
    var endsInReLU: Bool { get }
}

/// The layer can apply the ReLU backward of the layer below to its `dx` (see
/// `PassContext.inputReLUBackward`) at no cost: max pooling, whose `dx` is zero except at maxima.
public protocol AbsorbsReLUBackward: Layer {
    var absorbsInputReLUBackward: Bool { get }
}

/// The layer's output is `activation` of what it computed (fused, or the layer is the activation),
/// so a loss can fuse its softmax (`Loss.fusesSoftmax`) and exporters can name it.
public protocol ActivatedOutput: Layer {
    var activation: Activation { get }
}

/// The layer can run the ReLU after it (an `activation = "relu"` layer that alone reads it) within its
/// own passes, so that a graph model makes one pass over memory where it would make two
/// (`ReLUFusion`). Each element sees the same operations in the same order as in the two layers' passes,
/// so the bits do not change. Contract as `forward` and `backward` (a single-input layer reads `xs[0]`
/// and writes `dxs[0]`), except that `forwardReLU` writes the ReLU's output `max(y, 0)` to `y`, and
/// `backwardReLU` gets the ReLU's output `y` and the gradient `dy` with respect to it, unmasked.
public protocol FusesOutputReLU: Layer {
    func forwardReLU(inputs xs: [UnsafePointer<Float>], _ y: UnsafeMutablePointer<Float>, batch: Int,
                     parameters: UnsafePointer<Float>, memory: LayerMemory, context: PassContext)
    func backwardReLU(inputs xs: [UnsafePointer<Float>], y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                      dxs: [UnsafeMutablePointer<Float>?], batch: Int,
                      parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Double>,
                      memory: LayerMemory, context: PassContext)
}

/// The work of the layer's forward pass, for FLOP accounting and `bench`.
public protocol CostModel: Layer {
    /// Multiply-adds for one sample's forward pass.
    var forwardMultiplyAdds: Int { get }
    /// The matrix product of the forward pass, per sample: `rowsPerSample x depth` by `depth x columns`;
    /// `bench` times BLAS and the row-wise kernel at that shape.
    var forwardProduct: (rowsPerSample: Int, columns: Int, depth: Int)? { get }
}

/// One bound layer's fast paths, looked up once (see the protocols above): nil or 0 where it has none.
public struct LayerFastPaths: Sendable {
    public let prepared: (any PreparedParameters)?
    public let preparedCount: Int
    public let deferred: (any DeferredWeightGradients)?
    public let deferredCountPerSample: Int
    public let statistics: (any GlobalBatchStatistics)?
    public let statisticsCount: Int
    public let endsInReLU: Bool
    public let absorbsInputReLUBackward: Bool
    public let forwardMultiplyAdds: Int
    public let forwardProduct: (rowsPerSample: Int, columns: Int, depth: Int)?
    /// The layer's passes over several inputs, for a layer that merges them (`MergingLayer`).
    public let merging: (any MergingLayer)?
    /// The layer's passes with the ReLU after it, for a layer that can run them (`FusesOutputReLU`).
    public let fusesOutputReLU: (any FusesOutputReLU)?

    public init(_ layer: any Layer) {
        prepared = layer as? any PreparedParameters
        preparedCount = prepared?.preparedCount ?? 0
        deferred = layer as? any DeferredWeightGradients
        deferredCountPerSample = deferred?.deferredCountPerSample ?? 0
        statistics = layer as? any GlobalBatchStatistics
        statisticsCount = statistics?.statisticsCount ?? 0
        endsInReLU = (layer as? any EndsInReLU)?.endsInReLU ?? false
        absorbsInputReLUBackward = (layer as? any AbsorbsReLUBackward)?.absorbsInputReLUBackward ?? false
        let cost = layer as? any CostModel
        forwardMultiplyAdds = cost?.forwardMultiplyAdds ?? 0
        forwardProduct = cost?.forwardProduct
        merging = layer as? any MergingLayer
        fusesOutputReLU = layer as? any FusesOutputReLU
    }
}

extension Layer {
    /// `PreparedParameters.prepare` into a new array (at least one element, so it always has an
    /// address; empty for a layer without it); for running a layer on its own, as the tests do.
    public func prepared(parameters: [Float]) -> [Float] {
        let paths = LayerFastPaths(self)
        var result = [Float](repeating: 0, count: max(paths.preparedCount, 1))
        result.withUnsafeMutableBufferPointer { paths.prepared?.prepare(parameters: parameters, into: $0.baseAddress!) }
        return result
    }
}
