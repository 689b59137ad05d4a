import Foundation

/// Which layers of a graph model run the ReLU after them within their own passes (`FusesOutputReLU`):
/// batch norm then ReLU and add then ReLU, as residual blocks have them. These passes only stream
/// memory, so one sweep instead of two removes about half their traffic.
///
/// Layer `i` fuses layer `i + 1` when `i + 1` is an `activation = "relu"` layer that reads `i` alone,
/// is `i`'s only reader, and is not the last layer. Forward, `i` writes the ReLU's output straight to
/// `i + 1`'s output and `i + 1` does nothing; `i`'s own output is never written, as nothing reads it.
/// Backward, `i + 1` does nothing, and `i` reads the gradient with respect to `i + 1`'s output (which
/// shares the memory of `i`'s output gradient, see `GradientBufferPlan(model:)`) and masks it itself.
/// Every element sees the operations of the two layers' passes, so the bits do not change; names,
/// weights, the summary and exports do not see it. A chain runs its own passes, unfused.
/// `CONVNET_FUSED_PASSES=0` in the environment when a model is built turns fusion off (comparisons).
public struct ReLUFusion: Sendable {
    /// Per layer: it runs the ReLU of layer `i + 1` as well.
    public let fusesNext: [Bool]
    /// Per layer: a ReLU that the layer below runs; its own passes are skipped.
    public let runBelow: [Bool]

    /// Whether models fuse unless told otherwise: yes, unless `CONVNET_FUSED_PASSES` is `0`.
    public static var enabledByDefault: Bool { ProcessInfo.processInfo.environment["CONVNET_FUSED_PASSES"] != "0" }

    init(layers: [any Layer], graph: ModelGraph, fastPaths: [LayerFastPaths], enabled: Bool) {
        let fuses = layers.indices.map { i in
            enabled && !graph.isChain && i + 2 < layers.count && fastPaths[i].fusesOutputReLU != nil
                && (layers[i + 1] as? ActivationLayer)?.activation == .relu
                && graph.inputs[i + 1] == [i] && graph.consumers[i] == [i + 1]
        }
        fusesNext = fuses
        runBelow = layers.indices.map { $0 > 0 && fuses[$0 - 1] }
    }
}

extension GradientBufferPlan {
    /// The plan of `model`'s backward pass, with the fused layers' gradients sharing memory (`ReLUFusion`).
    public init(model: Sequential) {
        self.init(graph: model.graph, outputFloats: model.layers.map(\.outputShape.count),
                  sharedWithNext: model.reluFusion.fusesNext)
    }
}
