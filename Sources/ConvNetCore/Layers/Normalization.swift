/// Feature normalization (Keras `Normalization`, `axis = -1`): each channel (the last axis) shifted
/// by its mean and divided by its standard deviation, in training and inference.
///
/// Config (`type = "normalization"`): `mean` and `variance` (one number for every channel, or one per
/// channel), or `adapt = true`: the training set's statistics, computed once before training
/// (`NormalizationAdapt`, the layer then being the model's first) and kept as non-trainable state
/// `mean [c]`, `variance [c]`, `count []` (Keras's weights after `adapt`), so checkpoints and
/// exports carry them. Shapes: `x[n, ..., c]` -> `y[n, ..., c]`; no parameters.
///
///     y[..., k] = (x[..., k] - mean[k]) / max(sqrt(variance[k]), 1e-7)     (Keras 3.15's formula)
///     dx[..., k] = dy[..., k] / max(sqrt(variance[k]), 1e-7)
public struct Normalization: Layer {
    public static let typeName = "normalization"
    public static let kerasClassName = "Normalization"

    /// As given: one value (every channel) or one per channel; empty when adapting.
    public let mean: [Float]
    public let variance: [Float]
    /// The statistics are state, set from the training set (`adapt = true`).
    public let adapt: Bool
    public private(set) var inputShape = TensorShape([])

    public init(mean: [Float], variance: [Float]) {
        self.mean = mean
        self.variance = variance
        adapt = false
    }
    /// A layer whose statistics are adapted to the training set.
    public init(adapting: Void = ()) {
        mean = []
        variance = []
        adapt = true
    }
    public init(config: ConfigTable) throws {
        func values(_ name: String, minimum: Double) throws -> [Float] {
            guard let value = config.value(name) else {
                throw DescriptionError("missing key \(config.key(name)) (one number, or one per channel; or set adapt = true)")
            }
            let numbers: [Double]
            if case .array = value { numbers = try config.numbers(name)! } else { numbers = [try config.number(name)!] }
            guard !numbers.isEmpty, numbers.allSatisfy({ $0 >= minimum && Float($0).isFinite }) else {
                throw DescriptionError("\(config.key(name)) must be one finite number\(minimum == 0 ? " at least 0" : "") or one per channel, got \(value.text)")
            }
            return numbers.map { Float($0) }
        }
        if try config.bool("adapt") == true {
            if config.value("mean") != nil || config.value("variance") != nil {
                throw DescriptionError("\(config.key("adapt")) = true computes mean and variance from the training set; remove mean and variance, or adapt")
            }
            self.init(adapting: ())
        } else {
            self.init(mean: try values("mean", minimum: -.infinity), variance: try values("variance", minimum: 0))
        }
    }
    public var config: [ConfigEntry] {
        if adapt { return [ConfigEntry("adapt", .bool(true))] }
        func value(_ values: [Float]) -> ConfigValue { values.count == 1 ? .float(values[0]) : .array(values.map { .float($0) }) }
        return [ConfigEntry("mean", value(mean)), ConfigEntry("variance", value(variance))]
    }
    public func bound(to inputShape: TensorShape) throws -> Normalization {
        guard let channels = inputShape.dimensions.last else { throw DescriptionError("normalization needs an input with a channel axis") }
        for (name, values) in [("mean", mean), ("variance", variance)] where !adapt && values.count != 1 && values.count != channels {
            throw DescriptionError("normalization has \(values.count) values of \(name) for an input of \(channels) channels; give one, or one per channel")
        }
        var layer = self
        layer.inputShape = inputShape
        return layer
    }

    public var outputShape: TensorShape { inputShape }
    public var stateTensors: [TensorSpec] {
        guard adapt else { return [] }
        let c = channels
        return [TensorSpec("mean", [c], .zeros), TensorSpec("variance", [c], .ones), TensorSpec("count", [], .zeros)]
    }
    private var channels: Int { inputShape.dimensions.last! }

    /// Per channel: the mean and max(sqrt(variance), 1e-7), in Float as Keras computes them, from the
    /// config or, when adapting, from the state (`mean`, then `variance`).
    public func statistics(state: UnsafePointer<Float>) -> (means: [Float], deviations: [Float]) {
        let c = channels
        let means = (0..<c).map { adapt ? state[$0] : mean.count == 1 ? mean[0] : mean[$0] }
        let variances = (0..<c).map { adapt ? state[c + $0] : variance.count == 1 ? variance[0] : variance[$0] }
        return (means, variances.map { max($0.squareRoot(), 1e-7) })
    }

    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                        parameters: UnsafePointer<Float>, memory: LayerMemory, context: PassContext) {
        let c = channels, (means, deviations) = statistics(state: memory.state)
        for i in 0..<(batch * inputShape.count) { y[i] = (x[i] - means[i % c]) / deviations[i % c] }
    }

    public func backward(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                         dx: UnsafeMutablePointer<Float>?, batch: Int,
                         parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Double>,
                         memory: LayerMemory, context: PassContext) {
        guard let dx else { return }
        let c = channels, deviations = statistics(state: memory.state).deviations
        for i in 0..<(batch * inputShape.count) { dx[i] = dy[i] / deviations[i % c] }
    }
}
