/// A whole model as a config describes it: input shape, number of classes and the layers, each
/// described but not yet bound to its input shape (`Sequential` binds them), and how they connect
/// (`ModelGraph`): by default each layer reads the one before, a chain.
public struct ModelSpec: Equatable, Sendable {
    public var inputShape: TensorShape
    public var classes: Int
    public var layers: [any Layer]
    /// Per layer, the config's `name` (nil or missing: Keras's default, e.g. `conv2d_1`).
    public var names: [String?]
    /// Per layer, the config's `inputs`: names of earlier layers or `"input"` (nil or missing: the layer before).
    public var inputs: [[String]?]

    public init(inputShape: TensorShape, classes: Int, layers: [any Layer], names: [String?] = [], inputs: [[String]?] = []) {
        self.inputShape = inputShape
        self.classes = classes
        self.layers = layers
        self.names = names
        self.inputs = inputs
    }

    /// Layer `i`'s given name, if any.
    public func name(_ i: Int) -> String? { i < names.count ? names[i] : nil }
    /// Layer `i`'s given inputs, if any.
    public func inputNames(_ i: Int) -> [String]? { i < inputs.count ? inputs[i] : nil }

    /// Two specs are equal when they describe the same layers with the same keys and connections.
    public static func == (a: ModelSpec, b: ModelSpec) -> Bool {
        a.inputShape == b.inputShape && a.classes == b.classes
            && a.layers.map(LayerRegistry.config(of:)) == b.layers.map(LayerRegistry.config(of:))
            && a.layers.indices.allSatisfy { a.name($0) == b.name($0) && a.inputNames($0) == b.inputNames($0) }
    }

    /// The classic Keras MNIST convnet (93,322 parameters).
    public static let kerasMNIST = ModelSpec(
        inputShape: TensorShape([28, 28, 1]), classes: 10,
        layers: [
            Conv2D(filters: 32, kernelSize: (3, 3), activation: .relu),
            MaxPool2D(pool: 2),
            Conv2D(filters: 64, kernelSize: (3, 3), activation: .relu),
            MaxPool2D(pool: 2),
            Conv2D(filters: 64, kernelSize: (3, 3), activation: .relu),
            Flatten(),
            Dense(units: 64, activation: .relu),
            Dense(units: 10, activation: .softmax),
        ])
}
