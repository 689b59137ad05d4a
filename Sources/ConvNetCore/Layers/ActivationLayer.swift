import CKernels

/// An activation as a layer of its own (Keras `Activation`), e.g. after batch normalisation.
///
/// Config: `type = "activation"`, `activation = "relu"` (any name `Activation` knows). Shapes:
/// `x[n, ...]` -> `y[n, ...]`, the same shape; softmax normalises along the last axis.
public struct ActivationLayer: Layer, ActivatedOutput {
    public static let typeName = "activation"
    public static let kerasClassName = "Activation"

    public let activation: Activation
    public private(set) var inputShape = TensorShape([])

    public init(_ activation: Activation) { self.activation = activation }
    public init(config: ConfigTable) throws {
        guard try config.string("activation") != nil else { throw DescriptionError("missing key \(config.key("activation"))") }
        activation = try Activation.read(from: config)
    }
    public var config: [ConfigEntry] { [ConfigEntry("activation", .string(activation.rawValue))] }
    public func bound(to inputShape: TensorShape) throws -> ActivationLayer {
        var layer = self
        layer.inputShape = inputShape
        return layer
    }

    public var outputShape: TensorShape { inputShape }
    private var width: Int { inputShape.dimensions.last ?? 1 }

    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                        parameters: UnsafePointer<Float>, memory: LayerMemory, context: PassContext) {
        let count = batch * inputShape.count
        if activation == .relu { return ck_relu(x, y, count) }   // one pass, not a copy and then one in place
        y.update(from: x, count: count)
        activation.apply(y, count: count, width: width)
    }

    public func backward(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                         dx: UnsafeMutablePointer<Float>?, batch: Int,
                         parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Double>,
                         memory: LayerMemory, context: PassContext) {
        guard let dx else { return }
        let count = batch * inputShape.count
        if activation == .relu && !context.outputGradientIsPreActivation { return ck_relu_backward_into(y, dy, dx, count) }
        if !context.outputGradientIsPreActivation { activation.backward(x: x, y: y, dy: dy, count: count, width: width) }
        dx.update(from: dy, count: count)
    }
}
