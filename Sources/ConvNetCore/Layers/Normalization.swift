/// Feature normalization (Keras `Normalization`, `axis = -1`): each channel (the last axis) shifted
/// by its mean and divided by its standard deviation, in training and inference.
///
/// Config (`type = "normalization"`): `mean`, `variance` (required; one number for every channel, or
/// one per channel). Shapes: `x[n, ..., c]` -> `y[n, ..., c]`; no parameters.
///
///     y[..., k] = (x[..., k] - mean[k]) / max(sqrt(variance[k]), 1e-7)     (Keras 3.15's formula)
///     dx[..., k] = dy[..., k] / max(sqrt(variance[k]), 1e-7)
public struct Normalization: Layer {
    public static let typeName = "normalization"
    public static let kerasClassName = "Normalization"

    /// As given: one value (every channel) or one per channel.
    public let mean: [Float]
    public let variance: [Float]
    public private(set) var inputShape = TensorShape([])

    public init(mean: [Float], variance: [Float]) {
        self.mean = mean
        self.variance = variance
    }
    public init(config: ConfigTable) throws {
        func values(_ name: String, minimum: Double) throws -> [Float] {
            guard let value = config.value(name) else {
                throw DescriptionError("missing key \(config.key(name)) (one number, or one per channel; adapt is not supported yet)")
            }
            let numbers: [Double]
            if case .array = value { numbers = try config.numbers(name)! } else { numbers = [try config.number(name)!] }
            guard !numbers.isEmpty, numbers.allSatisfy({ $0 >= minimum && Float($0).isFinite }) else {
                throw DescriptionError("\(config.key(name)) must be one finite number\(minimum == 0 ? " at least 0" : "") or one per channel, got \(value.text)")
            }
            return numbers.map { Float($0) }
        }
        self.init(mean: try values("mean", minimum: -.infinity), variance: try values("variance", minimum: 0))
    }
    public var config: [ConfigEntry] {
        func value(_ values: [Float]) -> ConfigValue { values.count == 1 ? .float(values[0]) : .array(values.map { .float($0) }) }
        return [ConfigEntry("mean", value(mean)), ConfigEntry("variance", value(variance))]
    }
    public func bound(to inputShape: TensorShape) throws -> Normalization {
        guard let channels = inputShape.dimensions.last else { throw DescriptionError("normalization needs an input with a channel axis") }
        for (name, values) in [("mean", mean), ("variance", variance)] where values.count != 1 && values.count != channels {
            throw DescriptionError("normalization has \(values.count) values of \(name) for an input of \(channels) channels; give one, or one per channel")
        }
        var layer = self
        layer.inputShape = inputShape
        return layer
    }

    public var outputShape: TensorShape { inputShape }
    private var channels: Int { inputShape.dimensions.last! }
    private func channelMean(_ k: Int) -> Float { mean.count == 1 ? mean[0] : mean[k] }
    /// max(sqrt(variance), 1e-7) of channel `k`, in Float as Keras computes it.
    private func deviation(_ k: Int) -> Float { max((variance.count == 1 ? variance[0] : variance[k]).squareRoot(), 1e-7) }

    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                        parameters: UnsafePointer<Float>, memory: LayerMemory, context: PassContext) {
        let c = channels, means = (0..<c).map(channelMean), deviations = (0..<c).map(deviation)
        for i in 0..<(batch * inputShape.count) { y[i] = (x[i] - means[i % c]) / deviations[i % c] }
    }

    public func backward(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                         dx: UnsafeMutablePointer<Float>?, batch: Int,
                         parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Double>,
                         memory: LayerMemory, context: PassContext) {
        guard let dx else { return }
        let c = channels, deviations = (0..<c).map(deviation)
        for i in 0..<(batch * inputShape.count) { dx[i] = dy[i] / deviations[i % c] }
    }
}
