/// Rescaling (Keras `Rescaling`): every value times `scale` plus `offset`, in training and inference.
///
/// Config (`type = "rescaling"`): `scale` (required), `offset` (0). Shapes: `x[n, ...]` -> `y[n, ...]`;
/// no parameters.
///
///     y = x * scale + offset          (two Float roundings, as Keras's multiply then add)
///     dx = dy * scale
public struct Rescaling: Layer {
    public static let typeName = "rescaling"
    public static let kerasClassName = "Rescaling"

    public let scale: Float
    public let offset: Float
    public private(set) var inputShape = TensorShape([])

    public init(scale: Float, offset: Float = 0) {
        self.scale = scale
        self.offset = offset
    }
    public init(config: ConfigTable) throws {
        let finite = -Double(Float.greatestFiniteMagnitude)...Double(Float.greatestFiniteMagnitude)
        self.init(scale: try config.required("scale") { try config.float($0, in: finite) },
                  offset: try config.float("offset", in: finite) ?? 0)
    }
    public var config: [ConfigEntry] { [ConfigEntry("scale", .float(scale)), ConfigEntry("offset", .float(offset))] }
    public func bound(to inputShape: TensorShape) throws -> Rescaling {
        var layer = self
        layer.inputShape = inputShape
        return layer
    }

    public var outputShape: TensorShape { inputShape }

    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                        parameters: UnsafePointer<Float>, memory: LayerMemory, context: PassContext) {
        for i in 0..<(batch * inputShape.count) {
            let scaled = x[i] * scale
            y[i] = scaled + offset
        }
    }

    public func backward(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                         dx: UnsafeMutablePointer<Float>?, batch: Int,
                         parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Double>,
                         memory: LayerMemory, context: PassContext) {
        guard let dx else { return }
        for i in 0..<(batch * inputShape.count) { dx[i] = dy[i] * scale }
    }
}
