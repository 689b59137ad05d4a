/// Dropout (Keras `Dropout`): in training, each element is kept with probability `1 - rate` and
/// scaled by `1 / (1 - rate)`, else zeroed; at evaluation it is the identity.
///
/// Config: `type = "dropout"`, `rate` (in [0, 1)). Shapes: `x[n, ...]` -> `y[n, ...]`.
///
/// The mask is a pure function of (seed, global step, the sample's index in the data set, the layer's
/// position, the element), drawn by `CounterRandom`, not from a generator's stream: so it does not
/// depend on how the batch is split across ranks, threads or chunks, and a resumed run draws the
/// same masks as a straight one. (Keras's masks come from its own generator and cannot match bit
/// for bit; the golden tests check the scaling rule and the keep rate instead.)
public struct Dropout: Layer {
    public static let typeName = "dropout"
    public static let kerasClassName = "Dropout"

    public let rate: Float
    public private(set) var inputShape = TensorShape([])

    public init(rate: Float) { self.rate = rate }
    public init(config: ConfigTable) throws {
        guard let rate = try config.float("rate", in: 0...1, openUpper: true) else { throw DescriptionError("missing key \(config.key("rate"))") }
        self.rate = rate
    }
    public var config: [ConfigEntry] { [ConfigEntry("rate", .float(rate))] }
    public func bound(to inputShape: TensorShape) throws -> Dropout {
        var layer = self
        layer.inputShape = inputShape
        return layer
    }

    public var outputShape: TensorShape { inputShape }
    /// The mask times the scale, kept for the backward pass.
    public func savedCount(batch: Int) -> Int { batch * inputShape.count }

    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                        parameters: UnsafePointer<Float>, memory: LayerMemory, context: PassContext) {
        let count = inputShape.count
        guard context.training, rate > 0 else {
            y.update(from: x, count: batch * count)
            return
        }
        let scale = 1 / (1 - rate), mask = memory.saved
        for n in 0..<batch {
            let stream = CounterRandom(seed: context.seed, purpose: .dropout, step: context.globalStep,
                                       sample: context.sampleIDs[n], layer: context.layerIndex)
            for i in 0..<count {
                let m: Float = stream.unitFloat(i) >= rate ? scale : 0
                mask[n * count + i] = m
                y[n * count + i] = x[n * count + i] * m
            }
        }
    }

    public func backward(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                         dx: UnsafeMutablePointer<Float>?, batch: Int,
                         parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Double>,
                         memory: LayerMemory, context: PassContext) {
        guard let dx else { return }
        let total = batch * inputShape.count
        guard context.training, rate > 0 else { return dx.update(from: dy, count: total) }
        for i in 0..<total { dx[i] = dy[i] * memory.saved[i] }
    }
}
