import CKernels

/// A layer whose output is `y = x * scale[c] + shift[c]` per channel (last axis), with `scale` and
/// `shift` from its parameters and batch statistics: batch norm, whose normalize an add can apply to
/// its input within its own pass (`NormalizationFolding`).
public protocol FoldableNormalization: GlobalBatchStatistics {
    /// Writes `4 * c` floats: the `mean[c]` and `inverse[c]` its backward sums use (`(x - mean) * inverse`),
    /// then the forward pass's `scale[c]` and `shift[c]` (training: of the global batch, else the moving ones).
    func normalization(parameters: UnsafePointer<Float>, statistics: UnsafePointer<Double>, state: UnsafePointer<Float>,
                       training: Bool, into out: UnsafeMutablePointer<Float>)
    /// Where in its statistics (`statisticsCount` Doubles) the backward sums start: `sum dy` (c), then
    /// `sum dy * xhat` (c), over this worker's samples, as `addBackwardStatistics` writes them.
    var backwardSumsOffset: Int { get }
}

/// Which batch norms of a graph model an add runs within its own passes, as a residual block's end
/// (`conv -> bn -> add(shortcut) -> relu`) has them: forward `y = relu(bn(x) + shortcut)` in one pass,
/// so the batch norm's output is never written (nor allocated); backward, one pass applies the ReLU's
/// mask, writes both inputs' gradients and adds the batch norm's backward sums (`sum dy`,
/// `sum dy * xhat`, per sample in Float, added in Double, as `addBackwardStatistics` does), which the
/// runner sums across threads and ranks as it does an unfolded batch norm's; the batch norm's own
/// backward (its input gradient) is unchanged: it needs the global sums, so it cannot join the pass. Every element sees the same operations in the same order, so the bits
/// do not change.
///
/// Batch norm `j` folds into add `a` when `a` adds two different layers and fuses its ReLU
/// (`ReLUFusion`), `j` is an input of `a` and `a` alone reads it, and backward needs both inputs'
/// gradients. A stage of the training pass ends only at a batch-statistics layer, never between an
/// add and its ReLU, and `j`'s forward statistics are complete before any later stage, so `a` has
/// what it needs wherever the stages fall. Off where `ReLUFusion` is (`CONVNET_FUSED_PASSES=0`).
public struct NormalizationFolding: Sendable {
    /// Per layer: the add that runs this batch norm's passes (its forward is skipped), or nil.
    public let foldedInto: [Int?]
    /// Per layer: whether it is an add that runs the batch norms among its inputs.
    public let foldsInputs: [Bool]

    init(layers: [any Layer], graph: ModelGraph, reluFusion: ReLUFusion, outputGradientNeeded: [Bool]) {
        var foldedInto = [Int?](repeating: nil, count: layers.count)
        for (a, sources) in graph.inputs.enumerated() where layers[a] is Add && reluFusion.fusesNext[a] && sources.count == 2 {
            guard sources[0] != sources[1], !sources.contains(ModelGraph.modelInput),
                  sources.allSatisfy({ outputGradientNeeded[$0] }) else { continue }
            for j in sources where layers[j] is any FoldableNormalization && graph.consumers[j] == [a] { foldedInto[j] = a }
        }
        self.foldedInto = foldedInto
        foldsInputs = layers.indices.map { a in foldedInto.contains(a) }
    }
}

extension Workspace {
    /// The normalize (`FoldableNormalization`) of add `a`'s input `k` when it is folded, written to `out` (4c floats).
    private func foldedNormalization(_ model: Sequential, _ a: Int, input k: Int, step: StepArguments, training: Bool,
                                     into out: UnsafeMutablePointer<Float>) -> Int? {
        let j = model.graph.inputs[a][k]
        guard model.normalizationFolding.foldedInto[j] == a, let layer = model.layers[j] as? any FoldableNormalization else { return nil }
        layer.normalization(parameters: step.parameters + model.parameterOffsets[j], statistics: step.statistics[j],
                            state: step.state + step.stateOffsets[j], training: training, into: out)
        return j
    }

    /// Add `a`'s forward with its folded batch norms and its ReLU: writes the ReLU's output (layer `a + 1`).
    func foldedAddForward(_ graph: GraphBuffers, _ model: Sequential, _ a: Int, count: Int, step: StepArguments, training: Bool) {
        let shape = model.layers[a].outputShape, c = shape.dimensions.last!
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 8 * c) { buffer in
            let coefficients = buffer.baseAddress!
            var x = graph.readInputs[a], scales: [UnsafePointer<Float>?] = [nil, nil]
            for k in 0..<2 {
                let out = coefficients + 4 * c * k
                guard let j = foldedNormalization(model, a, input: k, step: step, training: training, into: out) else { continue }
                x[k] = graph.readInputs[j][0]
                scales[k] = UnsafePointer(out + 2 * c)
            }
            ck_normalize_add_relu(x[0], scales[0], scales[0].map { $0 + c }, x[1], scales[1], scales[1].map { $0 + c },
                                  count * (shape.count / c), Int32(c), activations[a + 1].pointer)
        }
    }

    /// Add `a`'s backward through its ReLU (`dy` with respect to the ReLU's output), with the backward sums
    /// of its folded batch norms over these `count` samples into their `partialStatistics`, for the runner
    /// to sum and their `backward` to reuse (`addBackwardStatistics` then skips them).
    func foldedAddBackward(_ graph: GraphBuffers, _ model: Sequential, _ a: Int, count: Int, step: StepArguments) {
        let shape = model.layers[a].outputShape, c = shape.dimensions.last!
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 12 * c) { buffer in
            let moments = buffer.baseAddress!, scratch = moments + 8 * c
            var folded: [(x: UnsafePointer<Float>, moments: UnsafePointer<Float>, sums: UnsafeMutablePointer<Double>)] = []
            for k in 0..<2 {
                let out = moments + 4 * c * k
                guard let j = foldedNormalization(model, a, input: k, step: step, training: true, into: out),
                      let layer = model.layers[j] as? any FoldableNormalization else { continue }
                partialStatistics[j].fill(0)
                backwardStatisticsSamples[j] = count
                folded.append((graph.readInputs[j][0], UnsafePointer(out), partialStatistics[j].pointer + layer.backwardSumsOffset))
            }
            let second = folded.count > 1 ? folded[1] : nil
            ck_add_relu_backward_sums(activations[a + 1].pointer, graph.outputGradients[a], graph.inputGradients[a][0]!,
                                      graph.inputGradients[a][1]!, folded[0].x, folded[0].moments, folded[0].moments + c,
                                      folded[0].sums, folded[0].sums + c, second?.x, second?.moments, second.map { $0.moments + c },
                                      second?.sums, second.map { $0.sums + c }, Int32(count), Int32(shape.count / c), Int32(c),
                                      scratch)
        }
    }
}
