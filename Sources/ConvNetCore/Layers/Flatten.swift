/// Flattens `x[n, h, w, c]` to `y[n, h * w * c]` in NHWC order, as Keras does with channels-last
/// data, so a Dense kernel exported from Keras applies unchanged. Config: `type = "flatten"`, no keys.
public struct Flatten: Layer {
    public static let typeName = "flatten"
    public static let kerasClassName = "Flatten"

    public private(set) var inputShape = TensorShape([])

    public init() {}
    public init(config: ConfigTable) throws {}
    public var config: [ConfigEntry] { [] }
    public func bound(to inputShape: TensorShape) throws -> Flatten {
        var layer = self
        layer.inputShape = inputShape
        return layer
    }

    public var outputShape: TensorShape { TensorShape([inputShape.count]) }

    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                        parameters: UnsafePointer<Float>, memory: LayerMemory, context: PassContext) {
        y.update(from: x, count: batch * inputShape.count)
    }

    public func backward(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                         dx: UnsafeMutablePointer<Float>?, batch: Int,
                         parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Double>,
                         memory: LayerMemory, context: PassContext) {
        dx?.update(from: dy, count: batch * inputShape.count)
    }
}
