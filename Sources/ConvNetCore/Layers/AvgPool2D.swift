/// Average pooling (Keras `AveragePooling2D`).
///
/// Config (`type = "avgpool2d"`): `pool_size` (2; k or [ph, pw]), `strides` (default: the pool size),
/// `padding` (`"valid"` | `"same"`; with `"same"`, a window that overlaps the padding averages only
/// the inputs inside the image, as Keras does).
///
/// Shapes: `x[n, h, w, c]` -> `y[n, oh, ow, c]`; `y = mean of the window`, `dx += dy / cells` for
/// each cell of each window.
public struct AvgPool2D: Layer {
    public static let typeName = "avgpool2d"
    public static let kerasClassName = "AveragePooling2D"

    public let window: PoolWindow
    public private(set) var inputShape = TensorShape([])
    private var geometry: WindowGeometry?

    public init(window: PoolWindow) { self.window = window }
    public init(config: ConfigTable) throws { window = try PoolWindow(config: config) }
    public var config: [ConfigEntry] { window.config }
    public func bound(to inputShape: TensorShape) throws -> AvgPool2D {
        var layer = self
        layer.inputShape = inputShape
        layer.geometry = try window.geometry(for: inputShape, layer: Self.typeName)
        return layer
    }

    private var g: WindowGeometry { geometry! }
    public var outputShape: TensorShape { TensorShape([g.outHeight, g.outWidth, g.channels]) }

    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                        parameters: UnsafePointer<Float>, memory: LayerMemory, context: PassContext) {
        WindowPooling.averageForward(x, y, batch: batch, geometry: g)
    }

    public func backward(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                         dx: UnsafeMutablePointer<Float>?, batch: Int,
                         parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Double>,
                         memory: LayerMemory, context: PassContext) {
        guard let dx else { return }
        WindowPooling.averageBackward(dy: dy, dx: dx, batch: batch, geometry: g)
    }
}
