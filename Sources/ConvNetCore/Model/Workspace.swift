/// All memory one worker thread needs to run forward and backward on up to `capacity` samples.
/// Allocated once; the training loop allocates nothing per step.
final class Workspace {
    let capacity: Int
    let input: FloatBuffer
    let labels: Int32Buffer
    let activations: [FloatBuffer]
    let saved: [FloatBuffer]
    let scratch: FloatBuffer
    /// Ping-pong buffers for the gradient flowing backward between layers.
    var gradientIn: FloatBuffer
    var gradientOut: FloatBuffer
    /// This worker's parameter gradients (sum over its samples, see `Layer.backward`).
    let parameterGradients: DoubleBuffer
    /// Each layer's prepared floats (see `Layer.prepare`), owned by the runner and shared by all workers.
    let prepared: [UnsafePointer<Float>]
    /// Per-layer timings, when profiling.
    var times: LayerTimes?

    init(model: Sequential, capacity: Int, prepared: [UnsafePointer<Float>]) {
        self.capacity = capacity
        self.prepared = prepared
        let layers = model.layers
        input = FloatBuffer(count: capacity * model.inputShape.count)
        labels = Int32Buffer(count: capacity)
        activations = layers.map { FloatBuffer(count: capacity * $0.outputShape.count) }
        saved = layers.map { FloatBuffer(count: $0.savedCount(batch: capacity)) }
        scratch = FloatBuffer(count: layers.map { $0.scratchCount(batch: capacity) }.max() ?? 0)
        let widest = layers.map { max($0.inputShape.count, $0.outputShape.count) }.max() ?? 0
        gradientIn = FloatBuffer(count: capacity * widest)
        gradientOut = FloatBuffer(count: capacity * widest)
        parameterGradients = DoubleBuffer(count: model.parameterCount)
    }

    func memory(_ layer: Int) -> LayerMemory {
        LayerMemory(saved: saved[layer].pointer, scratch: scratch.pointer, prepared: prepared[layer])
    }

    /// Runs every layer forward over the first `count` samples of `input`; returns the output.
    @discardableResult
    func forward(model: Sequential, count: Int, parameters: UnsafePointer<Float>) -> UnsafeMutablePointer<Float> {
        var x = UnsafePointer(input.pointer)
        for (i, layer) in model.layers.enumerated() {
            let start = times == nil ? 0 : LayerTimes.now()
            layer.forward(x, activations[i].pointer, batch: count,
                          parameters: parameters + model.parameterOffsets[i], memory: memory(i))
            times?.addForward(i, since: start)
            x = UnsafePointer(activations[i].pointer)
        }
        return activations[activations.count - 1].pointer
    }

    /// Backpropagates the logit gradient already in `gradientIn` through every layer, adding to
    /// `parameterGradients`. The first layer's input gradient is never needed, so it is skipped.
    /// `prepared` must hold what the layers prepared from `parameters`.
    func backward(model: Sequential, count: Int, parameters: UnsafePointer<Float>) {
        for i in stride(from: model.layers.count - 1, through: 0, by: -1) {
            let x = i == 0 ? input.pointer : activations[i - 1].pointer
            let start = times == nil ? 0 : LayerTimes.now()
            defer { times?.addBackward(i, since: start) }
            model.layers[i].backward(x: x, y: activations[i].pointer, dy: gradientIn.pointer,
                                     dx: i == 0 ? nil : gradientOut.pointer, batch: count,
                                     parameters: parameters + model.parameterOffsets[i],
                                     gradients: parameterGradients.pointer + model.parameterOffsets[i],
                                     memory: memory(i))
            swap(&gradientIn, &gradientOut)
        }
    }
}
