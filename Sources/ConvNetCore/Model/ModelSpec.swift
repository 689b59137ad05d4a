/// A whole model as a config describes it: input shape, number of classes and the layers, each
/// described but not yet bound to its input shape (`Sequential` binds them).
public struct ModelSpec: Equatable, Sendable {
    public var inputShape: TensorShape
    public var classes: Int
    public var layers: [any Layer]

    public init(inputShape: TensorShape, classes: Int, layers: [any Layer]) {
        self.inputShape = inputShape
        self.classes = classes
        self.layers = layers
    }

    /// Two specs are equal when they describe the same layers with the same keys.
    public static func == (a: ModelSpec, b: ModelSpec) -> Bool {
        a.inputShape == b.inputShape && a.classes == b.classes
            && a.layers.map(LayerRegistry.config(of:)) == b.layers.map(LayerRegistry.config(of:))
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
