/// All memory one worker thread needs to run forward and backward on up to `capacity` samples at
/// a time, in a share of up to `shareCapacity`. Allocated once; the training loop allocates nothing per step.
final class Workspace {
    let capacity: Int
    /// Each layer's deferred floats (`DeferredWeightGradients`) for a whole share.
    let deferred: [FloatBuffer]
    let input: FloatBuffer
    let labels: Int32Buffer
    /// Each sample's index in its data set (see `PassContext.sampleIDs`).
    let sampleIDs: Buffer<Int64>
    let activations: [FloatBuffer]
    let saved: [FloatBuffer]
    let scratch: FloatBuffer
    /// Ping-pong buffers for the gradient flowing backward between layers.
    var gradientIn: FloatBuffer
    var gradientOut: FloatBuffer
    /// This worker's share of each layer's batch statistics (see `GlobalBatchStatistics`).
    let partialStatistics: [DoubleBuffer]
    /// Per layer: the samples (from the share's start) whose backward sums `partialStatistics` holds, set
    /// after `addBackwardStatistics`, for the layer's `backward` on the same samples to reuse; -1: none.
    var backwardStatisticsSamples: [Int]
    /// Per-layer timings, when profiling.
    var times: LayerTimes?
    /// A graph model's buffers and wiring (nil for a chain, which runs the passes below).
    let graph: GraphBuffers?

    init(model: Sequential, capacity: Int, shareCapacity: Int) {
        self.capacity = capacity
        let layers = model.layers
        deferred = model.fastPaths.map { FloatBuffer(count: shareCapacity * $0.deferredCountPerSample) }
        input = FloatBuffer(count: capacity * model.inputShape.count)
        labels = Int32Buffer(count: capacity)
        sampleIDs = Buffer<Int64>(count: capacity)
        // A batch norm that its add runs (NormalizationFolding) never writes its output.
        activations = layers.indices.map { FloatBuffer(count: model.normalizationFolding.foldedInto[$0] != nil ? 0 : capacity * layers[$0].outputShape.count) }
        saved = layers.map { FloatBuffer(count: $0.savedCount(batch: capacity)) }
        scratch = FloatBuffer(count: layers.map { $0.scratchCount(batch: capacity) }.max() ?? 0)
        let widest = layers.map { max($0.inputShape.count, $0.outputShape.count) }.max() ?? 0
        // A graph's gradients live in its `GraphBuffers`.
        let pingPong = model.graph.isChain ? capacity * widest : 0
        gradientIn = FloatBuffer(count: pingPong)
        gradientOut = FloatBuffer(count: pingPong)
        partialStatistics = model.fastPaths.map { DoubleBuffer(count: $0.statisticsCount) }
        backwardStatisticsSamples = layers.map { _ in -1 }
        graph = model.graph.isChain ? nil
            : GraphBuffers(model: model, capacity: capacity, input: input, activations: activations)
    }

    /// Lends layer `i`'s backward sums to its `backward` when they are those of its `count` samples; once.
    func shareBackwardStatistics(_ i: Int, count: Int, shareOffset: Int, into memory: inout LayerMemory) {
        guard shareOffset == 0, backwardStatisticsSamples[i] == count else { return }
        memory.shareBackwardStatistics = UnsafePointer(partialStatistics[i].pointer)
        backwardStatisticsSamples[i] = -1
    }

    /// Layer `i`'s `addBackwardStatistics` over this worker's `count` samples, from 0 into its
    /// `partialStatistics` (through the ReLU it runs, if it fuses one), for its `backward` to reuse.
    func addBackwardStatistics(_ model: Sequential, _ i: Int, count: Int, step: StepArguments, statistics: UnsafePointer<Double>) {
        // A folded batch norm's sums were made by its add's backward (NormalizationFolding).
        if model.normalizationFolding.foldedInto[i] != nil {
            precondition(backwardStatisticsSamples[i] == count, "folded batch norm \(i): its add's backward has not run")
            return
        }
        let layer = model.fastPaths[i].statistics!, sums = partialStatistics[i].pointer
        partialStatistics[i].fill(0)
        if model.reluFusion.fusesNext[i] {
            layer.addBackwardStatisticsThroughReLU(x: layerInput(i), dy: outputGradient(i), batch: count,
                                                   parameters: step.parameters + model.parameterOffsets[i],
                                                   statistics: statistics, into: sums)
        } else {
            layer.addBackwardStatistics(x: layerInput(i), dy: outputGradient(i), batch: count, statistics: statistics, into: sums)
        }
        backwardStatisticsSamples[i] = count
    }

    /// The (first) input of layer `i`.
    func layerInput(_ i: Int) -> UnsafeMutablePointer<Float> { graph?.inputs[i][0] ?? chainInput(i) }

    /// The input of layer `i` of a chain.
    private func chainInput(_ i: Int) -> UnsafeMutablePointer<Float> { i == 0 ? input.pointer : activations[i - 1].pointer }

    /// Where the gradient with respect to layer `i`'s output is when its backward pass starts: the
    /// loss writes the last layer's there.
    func outputGradient(_ i: Int) -> UnsafeMutablePointer<Float> { graph?.outputGradients[i] ?? gradientIn.pointer }

    /// Runs layers `layers` forward over the first `count` samples (the first layer reads `input`);
    /// returns the last one's output.
    @discardableResult
    func forward(_ model: Sequential, layers: Range<Int>, count: Int, step: StepArguments, training: Bool) -> UnsafeMutablePointer<Float> {
        if let graph { return graphForward(graph, model, layers: layers, count: count, step: step, training: training) }
        for i in layers {
            let start = times == nil ? 0 : LayerTimes.now()
            model.layers[i].forward(chainInput(i), activations[i].pointer, batch: count,
                                    parameters: step.parameters + model.parameterOffsets[i],
                                    memory: step.memory(self, model, i), context: step.context(self, layer: i, training: training))
            times?.addForward(i, since: start)
        }
        return activations[layers.upperBound - 1].pointer
    }

    /// Backpropagates the gradient in `gradientIn` (with respect to the output of layer
    /// `layers.upperBound - 1`) down through `layers`, adding to `parameterGradients` (the model's
    /// `parameterCount` Double sums over this worker's samples, see `Layer.backward`); on return
    /// `gradientIn` holds the gradient with respect to the input of `layers.lowerBound` (except where
    /// no layer below it has parameters: those layers, and that gradient, are skipped). `fusedOutput`: the loss already
    /// gave the last layer's pre-activation gradient. The samples are those from `shareOffset` on in
    /// this worker's share: layers that defer their weight gradients write to those slots, and
    /// `addDeferredGradients` adds them once the share is done.
    func backward(_ model: Sequential, layers: Range<Int>, count: Int, step: StepArguments, fusedOutput: Bool,
                  parameterGradients: UnsafeMutablePointer<Double>, shareOffset: Int) {
        if let graph {
            return graphBackward(graph, model, layers: layers, count: count, step: step, fusedOutput: fusedOutput,
                                 parameterGradients: parameterGradients, shareOffset: shareOffset)
        }
        for i in layers.reversed() where model.outputGradientNeeded[i] {
            let start = times == nil ? 0 : LayerTimes.now()
            defer { times?.addBackward(i, since: start) }
            let dx = i > 0 && model.outputGradientNeeded[i - 1] ? gradientOut.pointer : nil
            var context = step.context(self, layer: i, training: true)
            context.outputGradientIsPreActivation = (fusedOutput && i == model.layers.count - 1) || model.reluBackwardAbsorbed(below: i + 1)
            context.inputReLUBackward = model.reluBackwardAbsorbed(below: i)
            var memory = step.memory(self, model, i)
            shareBackwardStatistics(i, count: count, shareOffset: shareOffset, into: &memory)
            let deferredCount = model.fastPaths[i].deferredCountPerSample
            if deferredCount > 0 { memory.deferred = deferred[i].pointer + shareOffset * deferredCount }
            model.layers[i].backward(x: chainInput(i), y: activations[i].pointer, dy: gradientIn.pointer,
                                     dx: dx, batch: count,
                                     parameters: step.parameters + model.parameterOffsets[i],
                                     gradients: parameterGradients + model.parameterOffsets[i],
                                     memory: memory, context: context)
            if dx != nil { swap(&gradientIn, &gradientOut) }
        }
    }

    /// The weight gradients the layers deferred over this worker's share of `samples` samples
    /// (of the layers in `layers` only, when given).
    func addDeferredGradients(_ model: Sequential, layers: Range<Int>? = nil, samples: Int, parameterGradients: UnsafeMutablePointer<Double>) {
        for (i, paths) in model.fastPaths.enumerated() where samples > 0 && layers?.contains(i) != false {
            guard let layer = paths.deferred else { continue }
            let start = times == nil ? 0 : LayerTimes.now()
            layer.addDeferredGradients(samples: samples, deferred: deferred[i].pointer,
                                       gradients: parameterGradients + model.parameterOffsets[i])
            times?.addBackward(i, since: start)
        }
    }
}

/// What every worker reads during one step or evaluation: parameters, state, each layer's prepared
/// floats and global batch statistics, and where the run is.
struct StepArguments {
    var parameters: UnsafePointer<Float>
    var state: UnsafePointer<Float>
    var prepared: [UnsafePointer<Float>]
    var statistics: [UnsafePointer<Double>]
    var stateOffsets: [Int]
    var globalStep: Int
    var seed: UInt64

    func memory(_ workspace: Workspace, _ model: Sequential, _ i: Int) -> LayerMemory {
        LayerMemory(saved: workspace.saved[i].pointer, scratch: workspace.scratch.pointer, prepared: prepared[i],
                    state: state + stateOffsets[i], statistics: statistics[i])
    }

    func context(_ workspace: Workspace, layer: Int, training: Bool) -> PassContext {
        var context = PassContext(training: training, globalStep: globalStep, seed: seed, sampleIDs: workspace.sampleIDs.pointer)
        context.layerIndex = layer
        return context
    }
}
