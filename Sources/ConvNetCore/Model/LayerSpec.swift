/// A layer as a config describes it, before shapes are inferred.
public enum LayerSpec: Equatable, Sendable {
    case conv2d(filters: Int, kernelSize: (Int, Int), activation: Activation)
    case maxPool2d(pool: Int)
    case flatten
    case dense(units: Int, activation: Activation)

    public static func == (lhs: LayerSpec, rhs: LayerSpec) -> Bool {
        switch (lhs, rhs) {
        case let (.conv2d(f1, k1, a1), .conv2d(f2, k2, a2)): return f1 == f2 && k1 == k2 && a1 == a2
        case let (.maxPool2d(p1), .maxPool2d(p2)): return p1 == p2
        case (.flatten, .flatten): return true
        case let (.dense(u1, a1), .dense(u2, a2)): return u1 == u2 && a1 == a2
        default: return false
        }
    }
}

/// A whole model: input shape, number of classes and the layer list.
public struct ModelSpec: Equatable, Sendable {
    public var inputShape: TensorShape
    public var classes: Int
    public var layers: [LayerSpec]

    public init(inputShape: TensorShape, classes: Int, layers: [LayerSpec]) {
        self.inputShape = inputShape
        self.classes = classes
        self.layers = layers
    }

    /// The classic Keras MNIST convnet (93,322 parameters).
    public static let kerasMNIST = ModelSpec(
        inputShape: TensorShape([28, 28, 1]), classes: 10,
        layers: [
            .conv2d(filters: 32, kernelSize: (3, 3), activation: .relu),
            .maxPool2d(pool: 2),
            .conv2d(filters: 64, kernelSize: (3, 3), activation: .relu),
            .maxPool2d(pool: 2),
            .conv2d(filters: 64, kernelSize: (3, 3), activation: .relu),
            .flatten,
            .dense(units: 64, activation: .relu),
            .dense(units: 10, activation: .softmax),
        ])
}
