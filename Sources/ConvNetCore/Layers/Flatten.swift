/// Flattens `x[n, h, w, c]` to `y[n, h * w * c]` in NHWC order, as Keras does with channels-last
/// data, so a Dense kernel exported from Keras applies unchanged.
public struct Flatten: Layer {
    public let kind = "flatten"
    public let inputShape: TensorShape

    public init(inputShape: TensorShape) { self.inputShape = inputShape }

    public var outputShape: TensorShape { TensorShape([inputShape.count]) }
    public var parameterShapes: [(name: String, shape: [Int])] { [] }

    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                        parameters: UnsafePointer<Float>, memory: LayerMemory) {
        y.update(from: x, count: batch * inputShape.count)
    }

    public func backward(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                         dx: UnsafeMutablePointer<Float>?, batch: Int,
                         parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Double>,
                         memory: LayerMemory) {
        dx?.update(from: dy, count: batch * inputShape.count)
    }
}
