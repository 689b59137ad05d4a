/// A stack of layers with shapes inferred from the input, Keras-style names, and one flat
/// parameter layout (`conv2d_1.kernel`, `conv2d_1.bias`, ...).
///
/// The model holds no weights: parameters live in a `FloatBuffer` laid out by `parameterLayout`,
/// so the same model serves every thread and every rank.
public final class Sequential: Sendable {
    public let spec: ModelSpec
    public let layers: [any Layer]
    /// Keras-style names: `conv2d_1`, `max_pooling2d_1`, `flatten_1`, `dense_1`, ...
    public let layerNames: [String]
    public let parameterLayout: ParameterLayout
    /// Offset of each layer's parameter slice in the flat buffer.
    public let parameterOffsets: [Int]

    public init(_ spec: ModelSpec) throws {
        guard spec.inputShape.rank == 3, spec.inputShape.dimensions.allSatisfy({ $0 > 0 }) else {
            throw ModelError("input shape must be [height, width, channels] with positive sizes, got \(spec.inputShape.dimensions)")
        }
        guard spec.classes >= 2 else { throw ModelError("classes must be at least 2, got \(spec.classes)") }
        guard !spec.layers.isEmpty else { throw ModelError("the model has no layers") }

        var layers: [any Layer] = []
        var shape = spec.inputShape
        for (index, layerSpec) in spec.layers.enumerated() {
            let position = "layer \(index + 1)"
            let isLast = index == spec.layers.count - 1
            let layer: any Layer
            switch layerSpec {
            case let .conv2d(filters, (kh, kw), activation):
                guard shape.rank == 3 else { throw ModelError("\(position) (conv2d) needs an image input, got \(shape)") }
                guard filters > 0, kh > 0, kw > 0 else { throw ModelError("\(position) (conv2d): filters and kernel_size must be positive") }
                guard kh <= shape.dimensions[0], kw <= shape.dimensions[1] else {
                    throw ModelError("\(position) (conv2d): kernel \(kh)x\(kw) is larger than its input \(shape)")
                }
                guard activation != .softmax else { throw ModelError("\(position) (conv2d): softmax is only allowed on the last dense layer") }
                layer = Conv2D(inputShape: shape, filters: filters, kernelSize: (kh, kw), activation: activation)
            case let .maxPool2d(pool):
                guard shape.rank == 3 else { throw ModelError("\(position) (maxpool2d) needs an image input, got \(shape)") }
                guard pool > 0, pool <= shape.dimensions[0], pool <= shape.dimensions[1] else {
                    throw ModelError("\(position) (maxpool2d): pool_size \(pool) does not fit its input \(shape)")
                }
                layer = MaxPool2D(inputShape: shape, pool: pool)
            case .flatten:
                layer = Flatten(inputShape: shape)
            case let .dense(units, activation):
                guard shape.rank == 1 else { throw ModelError("\(position) (dense) needs a flat input, got \(shape); add a flatten layer") }
                guard units > 0 else { throw ModelError("\(position) (dense): units must be positive") }
                guard activation != .softmax || isLast else {
                    throw ModelError("\(position) (dense): softmax is only allowed on the last layer")
                }
                layer = Dense(inputShape: shape, units: units, activation: activation)
            }
            layers.append(layer)
            shape = layer.outputShape
        }
        guard case let .dense(units, .softmax)? = spec.layers.last, units == spec.classes else {
            throw ModelError("the last layer must be dense with units = classes (\(spec.classes)) and activation softmax")
        }

        var counters: [String: Int] = [:]
        var names: [String] = []
        var layout = ParameterLayout()
        var offsets: [Int] = []
        for layer in layers {
            counters[layer.kind, default: 0] += 1
            let name = "\(layer.kind)_\(counters[layer.kind]!)"
            names.append(name)
            offsets.append(layout.count)
            for (tensor, tensorShape) in layer.parameterShapes { layout.append(name: "\(name).\(tensor)", shape: tensorShape) }
        }
        self.spec = spec
        self.layers = layers
        self.layerNames = names
        self.parameterLayout = layout
        self.parameterOffsets = offsets
    }

    public var inputShape: TensorShape { spec.inputShape }
    public var classes: Int { spec.classes }
    public var parameterCount: Int { parameterLayout.count }

    /// Multiply-adds of one sample's forward pass; a training step costs about three times this
    /// (forward, input gradient, weight gradient), times two FLOPs per multiply-add.
    public var forwardMultiplyAdds: Int { layers.reduce(0) { $0 + $1.forwardMultiplyAdds } }
}
