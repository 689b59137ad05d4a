import CKernels

/// Max pooling (Keras `MaxPooling2D`).
///
/// Config (`type = "maxpool2d"`): `pool_size` (2; k or [ph, pw]), `strides` (default: the pool size),
/// `padding` (`"valid"` | `"same"`; padded positions never win the maximum).
///
/// Shapes: `x[n, h, w, c]` -> `y[n, oh, ow, c]` (`WindowGeometry`). The forward pass is a plain maximum
/// (channels are innermost in NHWC, so it runs along contiguous channel vectors). The backward pass
/// gives each `dy` to the inputs of its window that equal the maximum, split equally when several do.
/// Exact ties are common (uniform background and saturated strokes give identical receptive
/// fields, and the row-wise kernel keeps them bit-identical); always picking the first would send
/// every tie's gradient to the same corner of the lower layers, a systematic bias that made the
/// weights noisier than Keras's, whose ties fall wherever BLAS rounding puts them.
public struct MaxPool2D: Layer, AbsorbsReLUBackward {
    public static let typeName = "maxpool2d"
    public static let kerasClassName = "MaxPooling2D"

    public let window: PoolWindow
    public private(set) var inputShape = TensorShape([])
    private var geometry: WindowGeometry?

    public init(pool: Int) { window = PoolWindow(size: (pool, pool)) }
    public init(window: PoolWindow) { self.window = window }
    public init(config: ConfigTable) throws { window = try PoolWindow(config: config) }
    public var config: [ConfigEntry] { window.config }
    public func bound(to inputShape: TensorShape) throws -> MaxPool2D {
        var layer = self
        layer.inputShape = inputShape
        layer.geometry = try window.geometry(for: inputShape, layer: Self.typeName)
        return layer
    }

    private var g: WindowGeometry { geometry! }
    var height: Int { g.height }
    var width: Int { g.width }
    var channels: Int { g.channels }
    public var outputShape: TensorShape { TensorShape([g.outHeight, g.outWidth, g.channels]) }
    /// Windows that tile the input without overlap or padding (the usual `pool_size = 2`) take the fast path.
    private var tiles: Bool { g.isTiling }
    private var pool: Int { g.windowHeight }
    public var absorbsInputReLUBackward: Bool { tiles }

    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                        parameters: UnsafePointer<Float>, memory: LayerMemory, context: PassContext) {
        guard tiles else { return WindowPooling.maxForward(x, y, batch: batch, geometry: g) }
        ck_maxpool_tiles_forward(x, y, Int32(batch), Int32(height), Int32(width), Int32(channels), Int32(pool))
    }

    public func backward(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                         dx: UnsafeMutablePointer<Float>?, batch: Int,
                         parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Double>,
                         memory: LayerMemory, context: PassContext) {
        guard let dx else { return }
        guard tiles else { return WindowPooling.maxBackward(x: x, y: y, dy: dy, dx: dx, batch: batch, geometry: g) }
        ck_maxpool_tiles_backward(x, y, dy, dx, Int32(batch), Int32(height), Int32(width), Int32(channels), Int32(pool),
                                  context.inputReLUBackward ? 1 : 0)
    }
}
