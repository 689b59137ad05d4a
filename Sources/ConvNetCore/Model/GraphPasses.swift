import CKernels

/// A graph model's passes (see `ModelGraph`): layer `i` reads the outputs of its inputs, which the
/// workspace keeps (every layer's output has a buffer of its own, except a batch norm whose add runs
/// it, `NormalizationFolding`), and backward walks the layers in
/// reverse. A layer read by several layers gets as its output gradient the sum of what they send
/// back: the last reader (the first one backward reaches) writes it, each earlier one's is added to
/// it in Float, in descending reader order. The order is fixed and each sample's sum depends on that
/// sample alone, so the bits do not depend on threads, ranks or chunks.

/// One worker's buffers and wiring for a graph model, set up once.
final class GraphBuffers {
    /// Each layer's input buffers, in `inputs` order.
    let inputs: [[UnsafeMutablePointer<Float>]]
    let readInputs: [[UnsafePointer<Float>]]
    /// The gradient with respect to each layer's output, summed over its readers.
    let outputGradients: [UnsafeMutablePointer<Float>]
    /// Per layer, per input: where its backward writes that input's gradient (nil: the model input, or
    /// a layer whose output gradient nobody needs, `Sequential.outputGradientNeeded`), and the sum to add it to when it is not written there directly.
    let inputGradients: [[UnsafeMutablePointer<Float>?]]
    let addTo: [[(sum: UnsafeMutablePointer<Float>, perSample: Int)?]]
    /// The memory behind the gradients, shared by those never live at once (`GradientBufferPlan`).
    private let slots: [FloatBuffer]

    /// Floats these buffers hold (for `MemoryEstimate`'s test).
    var allocatedFloats: Int { slots.reduce(0) { $0 + $1.count } }

    init(model: Sequential, capacity: Int, input: FloatBuffer, activations: [FloatBuffer]) {
        let graph = model.graph
        func source(_ j: Int) -> UnsafeMutablePointer<Float> { j == ModelGraph.modelInput ? input.pointer : activations[j].pointer }
        inputs = graph.inputs.map { $0.map(source) }
        readInputs = inputs.map { $0.map { UnsafePointer($0) } }
        let plan = GradientBufferPlan(model: model)
        let slots = plan.slotFloats.map { FloatBuffer(count: capacity * $0) }
        let outputGradients = plan.outputGradientSlots.map { slots[$0].pointer }
        var inputGradients: [[UnsafeMutablePointer<Float>?]] = [], addTo: [[(UnsafeMutablePointer<Float>, Int)?]] = []
        for (i, sources) in graph.inputs.enumerated() {
            inputGradients.append(sources.enumerated().map { k, j in
                j == ModelGraph.modelInput || !model.outputGradientNeeded[j] ? nil : plan.addendSlots[i][k].map { slots[$0].pointer } ?? outputGradients[j]
            })
            addTo.append(sources.enumerated().map { k, j in
                plan.addendSlots[i][k] == nil ? nil : (outputGradients[j], model.layers[j].outputShape.count)
            })
        }
        self.outputGradients = outputGradients
        self.inputGradients = inputGradients
        self.addTo = addTo
        self.slots = slots
    }
}

extension Workspace {
    /// `forward` for a graph model.
    func graphForward(_ graph: GraphBuffers, _ model: Sequential, layers: Range<Int>, count: Int, step: StepArguments,
                      training: Bool) -> UnsafeMutablePointer<Float> {
        let fusion = model.reluFusion
        for i in layers {
            if fusion.runBelow[i] && layers.contains(i - 1) { continue }   // layer i - 1 wrote its output
            if model.normalizationFolding.foldedInto[i] != nil { continue }   // its add normalizes (NormalizationFolding)
            let start = times == nil ? 0 : LayerTimes.now()
            if model.normalizationFolding.foldsInputs[i] {
                precondition(layers.contains(i + 1), "add \(i) folds batch norms: its ReLU must be in its stage")
                foldedAddForward(graph, model, i, count: count, step: step, training: training)
            } else if fusion.fusesNext[i] && layers.contains(i + 1), let fused = model.fastPaths[i].fusesOutputReLU {
                fused.forwardReLU(inputs: graph.readInputs[i], activations[i + 1].pointer, batch: count,
                                  parameters: step.parameters + model.parameterOffsets[i],
                                  memory: step.memory(self, model, i), context: step.context(self, layer: i, training: training))
            } else if let merging = model.fastPaths[i].merging {
                merging.forward(inputs: graph.readInputs[i], activations[i].pointer, batch: count)
            } else {
                model.layers[i].forward(graph.inputs[i][0], activations[i].pointer, batch: count,
                                        parameters: step.parameters + model.parameterOffsets[i],
                                        memory: step.memory(self, model, i), context: step.context(self, layer: i, training: training))
            }
            times?.addForward(i, since: start)
        }
        return activations[layers.upperBound - 1].pointer
    }

    /// `backward` for a graph model: starts from `outputGradient(i)` of each layer `i` in `layers`,
    /// which its readers (all later than `i`) have completed.
    func graphBackward(_ graph: GraphBuffers, _ model: Sequential, layers: Range<Int>, count: Int, step: StepArguments,
                       fusedOutput: Bool, parameterGradients: UnsafeMutablePointer<Double>, shareOffset: Int) {
        // A ReLU fused into layer i - 1 is masked there.
        for i in layers.reversed() where model.outputGradientNeeded[i] && !model.reluFusion.runBelow[i] {
            let start = times == nil ? 0 : LayerTimes.now()
            defer { times?.addBackward(i, since: start) }
            let dy = graph.outputGradients[i], dxs = graph.inputGradients[i]
            if model.normalizationFolding.foldsInputs[i] {
                foldedAddBackward(graph, model, i, count: count, step: step)
            } else if model.reluFusion.fusesNext[i], let fused = model.fastPaths[i].fusesOutputReLU {
                var memory = step.memory(self, model, i)
                shareBackwardStatistics(i, count: count, shareOffset: shareOffset, into: &memory)
                fused.backwardReLU(inputs: graph.readInputs[i], y: activations[i + 1].pointer, dy: dy, dxs: dxs, batch: count,
                                   parameters: step.parameters + model.parameterOffsets[i],
                                   gradients: parameterGradients + model.parameterOffsets[i],
                                   memory: memory, context: step.context(self, layer: i, training: true))
            } else if let merging = model.fastPaths[i].merging {
                merging.backward(dy: dy, dxs: dxs, batch: count)
            } else {
                var context = step.context(self, layer: i, training: true)
                context.outputGradientIsPreActivation = (fusedOutput && i == model.layers.count - 1) || model.reluBackwardAbsorbed(below: i + 1)
                context.inputReLUBackward = model.reluBackwardAbsorbed(below: i)
                var memory = step.memory(self, model, i)
                shareBackwardStatistics(i, count: count, shareOffset: shareOffset, into: &memory)
                let deferredCount = model.fastPaths[i].deferredCountPerSample
                if deferredCount > 0 { memory.deferred = deferred[i].pointer + shareOffset * deferredCount }
                model.layers[i].backward(x: graph.inputs[i][0], y: activations[i].pointer, dy: dy, dx: dxs[0], batch: count,
                                         parameters: step.parameters + model.parameterOffsets[i],
                                         gradients: parameterGradients + model.parameterOffsets[i],
                                         memory: memory, context: context)
            }
            for (k, target) in graph.addTo[i].enumerated() {
                guard let target, let dx = dxs[k] else { continue }
                ck_add(target.sum, dx, count * target.perSample)
            }
        }
    }
}
