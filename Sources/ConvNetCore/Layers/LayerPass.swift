/// What `Layer.forward` and `Layer.backward` receive besides their tensors: the pass's context and
/// the memory the runner lends the layer.

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
    /// applied this layer's ReLU backward to its own `dx` (`AbsorbsReLUBackward`).
    public var outputGradientIsPreActivation: Bool
    /// Backward only: this layer's input is the output of a ReLU (`EndsInReLU`) whose backward
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
    /// What `PreparedParameters.prepare` wrote for the current parameters, `preparedCount` long.
    public var prepared: UnsafePointer<Float>
    /// This layer's non-trainable state (its `stateTensors`, in order).
    public var state: UnsafePointer<Float>
    /// This layer's statistics of the whole global batch (`GlobalBatchStatistics`), `statisticsCount` long, summed over
    /// every sample on every rank before `forward` (and again before `backward`) in training.
    public var statistics: UnsafePointer<Double>
    /// Training only, for a `DeferredWeightGradients` layer: where `backward` writes those
    /// floats for its samples (the slots of this call's samples in its thread's share), leaving its
    /// weight gradient to `addDeferredGradients`. Nil: `backward` adds it itself (a layer run alone).
    public var deferred: UnsafeMutablePointer<Float>?
    /// Training only: this thread's `addBackwardStatistics` sums, from 0, for exactly the samples of this
    /// `backward` call, for a layer whose parameter gradients are those sums to reuse. Nil: compute them.
    public var shareBackwardStatistics: UnsafePointer<Double>? = nil

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
