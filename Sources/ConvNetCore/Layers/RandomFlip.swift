/// Random flips (Keras `RandomFlip`): in training, each sample is flipped with probability 1/2;
/// at inference the layer is the identity.
///
/// Config (`type = "random_flip"`): `mode` (`"horizontal_and_vertical"`, Keras's default;
/// `"horizontal"`: left-right, `"vertical"`: top-bottom). Shapes: `x[n, h, w, c]` -> `y[n, h, w, c]`;
/// no parameters.
///
///     flip(n) = u(n) < 1/2,   u(n) = CounterRandom(seed, randomFlip, step, sample id of n, layer).unitFloat(0)
///     horizontal: y[n, i, j, :] = x[n, i, w - 1 - j, :] where flip(n), else x[n, i, j, :]
///     vertical:   y[n, i, j, :] = x[n, h - 1 - i, j, :] where flip(n)
///     both: one draw flips both axes, as Keras does (a half turn)
///     dx: dy flipped back the same way (a flip is its own adjoint)
///
/// As for dropout, the draw is a pure function of (seed, step, sample, layer), so any split of the
/// batch over ranks and threads, and a resumed run, flip the same samples.
public struct RandomFlip: ShapeKeepingImageLayer {
    public static let typeName = "random_flip"
    public static let kerasClassName = "RandomFlip"

    public enum Mode: String, CaseIterable, Sendable {
        case horizontal, vertical
        case horizontalAndVertical = "horizontal_and_vertical"
    }

    public let mode: Mode
    public var inputShape = TensorShape([])

    public init(mode: Mode = .horizontalAndVertical) { self.mode = mode }
    public init(config: ConfigTable) throws {
        self.init(mode: Mode(rawValue: try config.choice("mode", Mode.allCases.map(\.rawValue)) ?? "horizontal_and_vertical")!)
    }
    public var config: [ConfigEntry] { [ConfigEntry("mode", .string(mode.rawValue))] }

    /// Whether sample `n` of the call is flipped.
    public func flips(_ n: Int, context: PassContext) -> Bool {
        CounterRandom(seed: context.seed, purpose: .randomFlip, step: context.globalStep,
                      sample: context.sampleIDs[n], layer: context.layerIndex).unitFloat(0) < 0.5
    }

    /// The pixel map of one sample, flipped or not.
    public func source(flipped: Bool) -> (_ i: Int, _ j: Int) -> (row: Int, column: Int)? {
        let (h, w) = (inputShape.dimensions[0], inputShape.dimensions[1])
        let rows = flipped && mode != .horizontal, columns = flipped && mode != .vertical
        return { i, j in (rows ? h - 1 - i : i, columns ? w - 1 - j : j) }
    }

    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                        parameters: UnsafePointer<Float>, memory: LayerMemory, context: PassContext) {
        guard context.training else { return y.update(from: x, count: batch * inputShape.count) }
        copy.forward(x, y, batch: batch, fill: 0) { source(flipped: flips($0, context: context)) }
    }

    public func backward(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                         dx: UnsafeMutablePointer<Float>?, batch: Int,
                         parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Double>,
                         memory: LayerMemory, context: PassContext) {
        guard let dx else { return }
        guard context.training else { return dx.update(from: dy, count: batch * inputShape.count) }
        copy.backward(dy, dx, batch: batch) { source(flipped: flips($0, context: context)) }
    }
}
