/// Nearest-neighbour upsampling (Keras `UpSampling2D`, `interpolation = "nearest"`): each pixel
/// becomes a `sh x sw` block of copies.
///
/// Config (`type = "upsampling2d"`): `size` (2; k or [sh, sw]). Shapes: `x[n, h, w, c]` ->
/// `y[n, h * sh, w * sw, c]`; no parameters.
///
///     y[n, i, j, c] = x[n, i / sh, j / sw, c]
///     dx[n, a, b, c] = sum of dy over the block of (a, b), row by row
public struct UpSampling2D: Layer {
    public static let typeName = "upsampling2d"
    public static let kerasClassName = "UpSampling2D"

    public let size: (Int, Int)
    public private(set) var inputShape = TensorShape([])

    public init(size: (Int, Int) = (2, 2)) { self.size = size }
    public init(config: ConfigTable) throws { self.init(size: try config.intOrPair("size", min: 1) ?? (2, 2)) }
    public var config: [ConfigEntry] { [ConfigEntry("size", .pair(size))] }
    public func bound(to inputShape: TensorShape) throws -> UpSampling2D {
        try inputShape.requireImage(Self.typeName)
        var layer = self
        layer.inputShape = inputShape
        return layer
    }

    private var height: Int { inputShape.dimensions[0] }
    private var width: Int { inputShape.dimensions[1] }
    private var channels: Int { inputShape.dimensions[2] }
    public var outputShape: TensorShape { TensorShape([height * size.0, width * size.1, channels]) }

    /// Calls `body(pixel of x, pixel of y)` (offsets of channel vectors) for every output pixel, in order.
    private func forEachCopy(batch: Int, _ body: (_ from: Int, _ to: Int) -> Void) {
        let (h, w, c) = (height, width, channels)
        for n in 0..<batch {
            for i in 0..<(h * size.0) {
                for j in 0..<(w * size.1) {
                    body(((n * h + i / size.0) * w + j / size.1) * c, ((n * h * size.0 + i) * w * size.1 + j) * c)
                }
            }
        }
    }

    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                        parameters: UnsafePointer<Float>, memory: LayerMemory, context: PassContext) {
        forEachCopy(batch: batch) { from, to in (y + to).update(from: x + from, count: channels) }
    }

    public func backward(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                         dx: UnsafeMutablePointer<Float>?, batch: Int,
                         parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Double>,
                         memory: LayerMemory, context: PassContext) {
        guard let dx else { return }
        dx.update(repeating: 0, count: batch * inputShape.count)
        forEachCopy(batch: batch) { from, to in
            for k in 0..<channels { dx[from + k] += dy[to + k] }
        }
    }
}
