/// A stack of layers (or a graph of them, see `ModelGraph`) bound to their input shapes, with
/// Keras-style names and two flat layouts: the trainable parameters (`conv2d_1.kernel`, `conv2d_1.bias`, ...) and the non-trainable state
/// (`batch_normalization_1.moving_mean`, ...).
///
/// The model holds no weights: parameters and state live in `FloatBuffer`s laid out by these
/// layouts, so the same model serves every thread and every rank.
public final class Sequential: Sendable {
    public let spec: ModelSpec
    public let layers: [any Layer]
    /// The config's names, else Keras-style ones: `conv2d_1`, `max_pooling2d_1`, `flatten_1`, `dense_1`, ...
    public let layerNames: [String]
    /// How the layers connect; a chain unless the config names `inputs`.
    public let graph: ModelGraph
    public let parameterLayout: ParameterLayout
    /// Offset of each layer's parameter slice in the flat buffer.
    public let parameterOffsets: [Int]
    public let stateLayout: ParameterLayout
    /// Offset of each layer's state slice in the flat state buffer.
    public let stateOffsets: [Int]
    /// How each tensor starts, by parameter view, then by state view.
    public let parameterInitializers: [Initializer]
    public let stateInitializers: [Initializer]
    /// Regularised parameter views (Keras's `kernel_regularizer`).
    public let regularized: [(view: ParameterView, regularizer: Regularizer)]
    /// Each layer's opt-in fast paths, looked up once here so that no pass casts.
    public let fastPaths: [LayerFastPaths]
    /// Which layers run the ReLU after them in their own passes (a graph's execution detail).
    public let reluFusion: ReLUFusion
    /// Which batch norms an add runs within its own passes (a graph's execution detail).
    public let normalizationFolding: NormalizationFolding
    /// Per layer: whether it applies the ReLU backward of the layer below (see `PassContext.inputReLUBackward`).
    private let absorbsReLUBelow: [Bool]
    /// Per layer: whether backward runs it (`ModelGraph.outputGradientNeeded`).
    public let outputGradientNeeded: [Bool]

    /// Largest parameter or state count a model may have (1 GiB of Floats): beyond it a config is a mistake.
    public static let maximumParameters = 1 << 28

    /// `fusePasses`: whether a graph runs a ReLU within the layer before it where it can (`ReLUFusion`).
    public init(_ spec: ModelSpec, fusePasses: Bool = ReLUFusion.enabledByDefault) throws {
        guard spec.inputShape.rank == 3, spec.inputShape.dimensions.allSatisfy({ $0 > 0 && $0 <= 1 << 16 }) else {
            throw ModelError("input shape must be [height, width, channels] with sizes in 1...65536, got \(spec.inputShape.dimensions)")
        }
        guard spec.classes >= 2 && spec.classes <= 256 else { throw ModelError("classes must be in 2...256, got \(spec.classes)") }
        guard !spec.layers.isEmpty else { throw ModelError("the model has no layers") }

        let graph = try ModelGraph(spec)
        var layers: [any Layer] = []
        var shape = spec.inputShape
        for (index, described) in spec.layers.enumerated() {
            let position = graph.isChain ? "layer \(index + 1) (\(described.typeName))"
                : "layer \(index + 1) (\(described.typeName) \"\(graph.names[index])\")"
            let inputShapes = graph.inputs[index].map { $0 == ModelGraph.modelInput ? spec.inputShape : layers[$0].outputShape }
            let layer: any Layer
            do {
                if let merging = described as? any MergingLayer {
                    layer = try merging.bound(toInputs: inputShapes)
                } else {
                    layer = try described.bound(to: inputShapes[0])
                }
            } catch let error as DescriptionError {
                throw ModelError("\(position): \(error.description)")
            }
            guard layer.outputShape.dimensions.allSatisfy({ $0 > 0 }) else {
                throw ModelError("\(position): its output \(layer.outputShape) has no elements")
            }
            guard layer.outputShape.count <= Sequential.maximumParameters, layer.parameterCount <= Sequential.maximumParameters else {
                throw ModelError("\(position): larger than \(Sequential.maximumParameters) values")
            }
            layers.append(layer)
            shape = layer.outputShape
        }
        let gradientNeeded = graph.outputGradientNeeded(trainable: layers.map { $0.parameterCount > 0 })
        // A convolution whose input gradient backward never computes may take a route without one.
        for i in layers.indices where !graph.inputs[i].contains(where: { $0 != ModelGraph.modelInput && gradientNeeded[$0] }) {
            layers[i] = (layers[i] as? Conv2D)?.withoutInputGradient() ?? layers[i]
        }
        let fastPaths = layers.map(LayerFastPaths.init)
        self.fastPaths = fastPaths
        // In a graph, only where the layer below feeds this layer alone and this layer reads it alone.
        absorbsReLUBelow = layers.indices.map {
            $0 > 0 && fastPaths[$0 - 1].endsInReLU && fastPaths[$0].absorbsInputReLUBackward
                && graph.inputs[$0] == [$0 - 1] && graph.consumers[$0 - 1] == [$0]
        }
        let reluFusion = ReLUFusion(layers: layers, graph: graph, fastPaths: fastPaths, enabled: fusePasses)
        self.reluFusion = reluFusion
        guard shape.dimensions == [spec.classes] else {
            throw ModelError("the last layer's output is \(shape), but the model needs (None, \(spec.classes)) for classes = \(spec.classes)")
        }

        var parameters = ParameterLayout(), state = ParameterLayout()
        var parameterOffsets: [Int] = [], stateOffsets: [Int] = []
        var parameterInitializers: [Initializer] = [], stateInitializers: [Initializer] = []
        var regularized: [(ParameterView, Regularizer)] = []
        for (layer, name) in zip(layers, graph.names) {
            parameterOffsets.append(parameters.count)
            stateOffsets.append(state.count)
            for tensor in layer.parameters {
                let view = parameters.append(name: "\(name).\(tensor.name)", shape: tensor.shape)
                parameterInitializers.append(tensor.initializer)
                if let regularizer = tensor.regularizer { regularized.append((view, regularizer)) }
            }
            for tensor in layer.stateTensors {
                state.append(name: "\(name).\(tensor.name)", shape: tensor.shape)
                stateInitializers.append(tensor.initializer)
            }
            guard parameters.count <= Sequential.maximumParameters else {
                throw ModelError("the model has more than \(Sequential.maximumParameters) parameters")
            }
        }
        self.spec = spec
        self.layers = layers
        self.layerNames = graph.names
        self.graph = graph
        self.parameterLayout = parameters
        self.parameterOffsets = parameterOffsets
        self.stateLayout = state
        self.stateOffsets = stateOffsets
        self.parameterInitializers = parameterInitializers
        self.stateInitializers = stateInitializers
        self.regularized = regularized
        outputGradientNeeded = gradientNeeded
        normalizationFolding = NormalizationFolding(layers: layers, graph: graph, reluFusion: reluFusion,
                                                    outputGradientNeeded: gradientNeeded)
    }

    public var inputShape: TensorShape { spec.inputShape }
    public var classes: Int { spec.classes }
    public var parameterCount: Int { parameterLayout.count }
    /// Non-trainable values (e.g. batch-norm moving statistics).
    public var stateCount: Int { stateLayout.count }
    /// Whether training needs statistics of the whole global batch between layers (batch norm).
    public var synchronisesBatches: Bool { fastPaths.contains { $0.statisticsCount > 0 } }

    /// Multiply-adds of one sample's forward pass; a training step costs about three times this
    /// (forward, input gradient, weight gradient), times two FLOPs per multiply-add.
    public var forwardMultiplyAdds: Int { fastPaths.reduce(0) { $0 + $1.forwardMultiplyAdds } }

    /// The last layer's activation, whether fused into it or a layer of its own (`ActivatedOutput`).
    public var outputActivation: Activation { (layers.last as? any ActivatedOutput)?.activation ?? .linear }

    /// The regularisation penalty of `parameters` (Keras adds it to the loss it reports).
    public func regularizationPenalty(_ parameters: UnsafePointer<Float>) -> Double {
        regularized.reduce(0) { $0 + $1.regularizer.penalty(parameters + $1.view.offset, count: $1.view.count) }
    }

    /// Whether backward computes any input gradient of layer `i` (some input's `outputGradientNeeded`).
    public func computesInputGradient(_ i: Int) -> Bool {
        graph.inputs[i].contains { $0 != ModelGraph.modelInput && outputGradientNeeded[$0] }
    }

    /// Whether layer `i` applies the ReLU backward of layer `i - 1` (false outside the model).
    public func reluBackwardAbsorbed(below i: Int) -> Bool { i > 0 && i < layers.count && absorbsReLUBelow[i] }

    /// Whether any layer has a weight penalty (`kernel_regularizer`).
    public var hasRegularization: Bool { !regularized.isEmpty }

    /// Adds the penalty's gradient to the mean gradient.
    public func addRegularizationGradient(_ parameters: UnsafePointer<Float>, to gradient: UnsafeMutablePointer<Float>) {
        for (view, regularizer) in regularized {
            regularizer.addGradient(parameters + view.offset, count: view.count, to: gradient + view.offset)
        }
    }
}
