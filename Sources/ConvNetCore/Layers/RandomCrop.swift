/// Random crops (Keras `RandomCrop`): in training, each sample keeps a `height x width` window at a
/// random position; at inference, the centred window (Keras's `CenterCrop` rule).
///
/// Config (`type = "random_crop"`): `height`, `width` (required, at most the input's).
/// Shapes: `x[n, H, W, c]` -> `y[n, height, width, c]`; no parameters.
///
///     training:  top(n) = floor(u0 * (H - height + 1)), left(n) = floor(u1 * (W - width + 1)),
///                u0, u1 = CounterRandom(seed, randomCrop, step, sample id of n, layer).unitFloat(0, 1)
///     inference: top = (H - height) / 2, left = (W - width) / 2   (integer division)
///     y[n, i, j, :] = x[n, top + i, left + j, :]
///     dx: dy scattered back to the window, zero elsewhere
///
/// Keras draws one window for the whole batch from its generator and, at inference, resizes to the
/// largest window of the target's aspect ratio; here every sample draws its own window (the dropout
/// rule: the same for any split of the batch and after a resume) and the centred window is not
/// resized. Keras 3.15's `RandomCrop` returns its input uncropped at inference (its output shape
/// says otherwise), so an exported Keras script predicts only where height and width equal the input's.
public struct RandomCrop: Layer {
    public static let typeName = "random_crop"
    public static let kerasClassName = "RandomCrop"

    public let height: Int
    public let width: Int
    public private(set) var inputShape = TensorShape([])

    public init(height: Int, width: Int) {
        self.height = height
        self.width = width
    }
    public init(config: ConfigTable) throws {
        self.init(height: try config.required("height") { try config.int($0, min: 1, max: 1 << 12) },
                  width: try config.required("width") { try config.int($0, min: 1, max: 1 << 12) })
    }
    public var config: [ConfigEntry] { [ConfigEntry("height", .int(height)), ConfigEntry("width", .int(width))] }
    public func bound(to inputShape: TensorShape) throws -> RandomCrop {
        try inputShape.requireImage(Self.typeName)
        let d = inputShape.dimensions
        guard height <= d[0], width <= d[1] else {
            throw DescriptionError("random_crop of \(height)x\(width) does not fit in its \(d[0])x\(d[1]) input; make height and width at most the input's (or pad first with zero_padding2d)")
        }
        var layer = self
        layer.inputShape = inputShape
        return layer
    }

    public var outputShape: TensorShape { TensorShape([height, width, inputShape.dimensions[2]]) }
    private var copy: PixelCopy { PixelCopy(image: inputShape, output: (height, width)) }

    /// The window's top-left corner for sample `n` of the call.
    public func corner(_ n: Int, context: PassContext) -> (top: Int, left: Int) {
        let d = inputShape.dimensions
        guard context.training else { return ((d[0] - height) / 2, (d[1] - width) / 2) }
        let stream = CounterRandom(seed: context.seed, purpose: .randomCrop, step: context.globalStep,
                                   sample: context.sampleIDs[n], layer: context.layerIndex)
        func draw(_ element: Int, _ positions: Int) -> Int { min(Int(stream.unitFloat(element) * Float(positions)), positions - 1) }
        return (draw(0, d[0] - height + 1), draw(1, d[1] - width + 1))
    }

    private func source(_ n: Int, context: PassContext) -> PixelCopy.Source {
        let (top, left) = corner(n, context: context)
        return { i, j in (top + i, left + j) }
    }

    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                        parameters: UnsafePointer<Float>, memory: LayerMemory, context: PassContext) {
        copy.forward(x, y, batch: batch, fill: 0) { source($0, context: context) }
    }

    public func backward(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                         dx: UnsafeMutablePointer<Float>?, batch: Int,
                         parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Double>,
                         memory: LayerMemory, context: PassContext) {
        guard let dx else { return }
        copy.backward(dy, dx, batch: batch) { source($0, context: context) }
    }
}
