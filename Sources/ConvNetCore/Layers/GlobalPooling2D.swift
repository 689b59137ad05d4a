/// Global average pooling (Keras `GlobalAveragePooling2D`): `x[n, h, w, c]` -> `y[n, c]`, the mean
/// of each channel over all positions. Config: `type = "global_avgpool2d"`, no keys.
public struct GlobalAvgPool2D: Layer {
    public static let typeName = "global_avgpool2d"
    public static let kerasClassName = "GlobalAveragePooling2D"

    public private(set) var inputShape = TensorShape([])
    public init() {}
    public init(config: ConfigTable) throws {}
    public var config: [ConfigEntry] { [] }
    public func bound(to inputShape: TensorShape) throws -> GlobalAvgPool2D {
        try inputShape.requireImage(Self.typeName)
        var layer = self
        layer.inputShape = inputShape
        return layer
    }
    public var outputShape: TensorShape { TensorShape([inputShape.dimensions[2]]) }

    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                        parameters: UnsafePointer<Float>, memory: LayerMemory, context: PassContext) {
        let positions = inputShape.dimensions[0] * inputShape.dimensions[1], channels = inputShape.dimensions[2]
        let scale = 1 / Float(positions)
        for n in 0..<batch {
            let image = x + n * positions * channels, out = y + n * channels
            out.update(repeating: 0, count: channels)
            for p in 0..<positions { for c in 0..<channels { out[c] += image[p * channels + c] } }
            for c in 0..<channels { out[c] *= scale }
        }
    }

    public func backward(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                         dx: UnsafeMutablePointer<Float>?, batch: Int,
                         parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Double>,
                         memory: LayerMemory, context: PassContext) {
        guard let dx else { return }
        let positions = inputShape.dimensions[0] * inputShape.dimensions[1], channels = inputShape.dimensions[2]
        let scale = 1 / Float(positions)
        for n in 0..<batch {
            for p in 0..<positions { for c in 0..<channels { dx[(n * positions + p) * channels + c] = dy[n * channels + c] * scale } }
        }
    }
}

/// Global max pooling (Keras `GlobalMaxPooling2D`): `x[n, h, w, c]` -> `y[n, c]`, the maximum of each
/// channel over all positions; the gradient is split equally among tied maxima, as in `MaxPool2D`.
/// Config: `type = "global_maxpool2d"`, no keys.
public struct GlobalMaxPool2D: Layer {
    public static let typeName = "global_maxpool2d"
    public static let kerasClassName = "GlobalMaxPooling2D"

    public private(set) var inputShape = TensorShape([])
    public init() {}
    public init(config: ConfigTable) throws {}
    public var config: [ConfigEntry] { [] }
    public func bound(to inputShape: TensorShape) throws -> GlobalMaxPool2D {
        try inputShape.requireImage(Self.typeName)
        var layer = self
        layer.inputShape = inputShape
        layer.window = try WindowGeometry(input: inputShape, window: (inputShape.dimensions[0], inputShape.dimensions[1]),
                                          strides: (1, 1), padding: .valid)
        return layer
    }
    public var outputShape: TensorShape { TensorShape([inputShape.dimensions[2]]) }
    /// The whole image as one window (set when bound).
    private var window: WindowGeometry?
    private var geometry: WindowGeometry { window! }

    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                        parameters: UnsafePointer<Float>, memory: LayerMemory, context: PassContext) {
        WindowPooling.maxForward(x, y, batch: batch, geometry: geometry)
    }

    public func backward(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                         dx: UnsafeMutablePointer<Float>?, batch: Int,
                         parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Double>,
                         memory: LayerMemory, context: PassContext) {
        guard let dx else { return }
        WindowPooling.maxBackward(x: x, y: y, dy: dy, dx: dx, batch: batch, geometry: geometry)
    }
}
