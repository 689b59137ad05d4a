import KindRegistry

/// A loss function of the model's output and an integer class label (as a one-hot target).
///
/// Config: `[loss] name = "..."` and the loss's own keys. Values and gradients are of one sample;
/// the runner sums them over the batch and the trainer divides by the global batch size once, after
/// threads and ranks are summed, so the reported loss is the batch mean Keras reports.
public protocol Loss: Sendable {
    /// Keras's name, e.g. `categorical_crossentropy`.
    static var name: String { get }
    /// The Keras class, e.g. `CategoricalCrossentropy` for `keras.losses.CategoricalCrossentropy`.
    static var kerasClass: String { get }
    init(config: ConfigTable) throws
    /// The keys `init(config:)` reads back to an equal loss (without `name`).
    var config: [ConfigEntry] { get }

    /// Throws when the model's output cannot feed this loss (e.g. cross-entropy on outputs that are
    /// not probabilities).
    func validate(outputActivation: Activation) throws
    /// True when, for this output activation, `sampleLoss` writes the gradient with respect to the
    /// softmax's input (the logits) rather than its output: softmax and cross-entropy fused, as Keras
    /// does (`p - y`, exact and cheaper than the softmax Jacobian).
    func fusesSoftmax(outputActivation: Activation) -> Bool

    /// The loss of one sample's `output[classes]` against `label`; writes `d loss / d output` (or
    /// the logits, when fused) into `gradient` when it is non-nil.
    func sampleLoss(output: UnsafePointer<Float>, label: Int, classes: Int, fused: Bool,
                    gradient: UnsafeMutablePointer<Float>?) -> Double
}

extension Loss {
    /// `init(config:)` as an existential (see `Layer.described(by:)`).
    static func described(by config: ConfigTable) throws -> any Loss { try Self(config: config) }
    public var name: String { Self.name }
    public func validate(outputActivation: Activation) throws {}
    public func fusesSoftmax(outputActivation: Activation) -> Bool { false }
    public var config: [ConfigEntry] { [] }
}

/// A loss without keys of its own: `name` is all its `[loss]` table holds.
public protocol KeylessLoss: Loss {
    init()
}

extension KeylessLoss {
    public init(config: ConfigTable) throws { self.init() }
}

/// A loss that is the mean over the classes of one function of `p_k - y_k` (one-hot `y`):
/// `loss = mean_k f(p_k - y_k)`, `d loss / d p_k = f'(p_k - y_k) / K`.
public protocol MeanOverClassesLoss: KeylessLoss {
    /// `f(d)` and `f'(d)`.
    static func term(_ d: Float) -> (value: Float, derivative: Float)
}

extension MeanOverClassesLoss {
    public func sampleLoss(output p: UnsafePointer<Float>, label: Int, classes: Int, fused: Bool,
                           gradient: UnsafeMutablePointer<Float>?) -> Double {
        var sum: Float = 0
        for k in 0..<classes {
            let (value, derivative) = Self.term(p[k] - (k == label ? 1 : 0))
            sum += value
            gradient?[k] = derivative / Float(classes)
        }
        return Double(sum / Float(classes))
    }
}

/// Every loss a config can name; adding one is one file and one line here.
public enum LossRegistry {
    public static let kinds: [any Loss.Type] = [
        CategoricalCrossentropy.self,
        MeanSquaredError.self,
        MeanAbsoluteError.self,
        CategoricalHinge.self,
        KLDivergence.self,
    ]

    static let registry = Registry("loss", kinds, name: { $0.name })

    /// The loss a `[loss]` table describes (categorical cross-entropy when it names none).
    public static func loss(from config: ConfigTable) throws -> any Loss {
        let loss = try registry.kind(in: config, fallback: CategoricalCrossentropy.name).described(by: config)
        try config.finish()
        return loss
    }

    /// The table `loss(from:)` reads back to an equal loss: `name` first.
    public static func config(of loss: any Loss) -> [ConfigEntry] { registry.config(name: loss.name, loss.config) }

    public static func equal(_ a: any Loss, _ b: any Loss) -> Bool { config(of: a) == config(of: b) }
}

/// Helpers shared by the losses.
public enum LossMath {
    /// Keras's fuzz factor: probabilities are clipped to `[epsilon, 1 - epsilon]` before a logarithm.
    public static let epsilon: Float = 1e-7

    /// The one-hot target of `label`, smoothed as Keras does: `y * (1 - s) + s / classes`.
    @inline(__always) static func target(_ k: Int, label: Int, classes: Int, smoothing: Float) -> Float {
        let hot: Float = k == label ? 1 : 0
        return smoothing == 0 ? hot : hot * (1 - smoothing) + smoothing / Float(classes)
    }

    /// Index of the first maximum (the prediction accuracy counts).
    public static func argmax(_ row: UnsafePointer<Float>, count: Int) -> Int {
        var best = 0
        for k in 1..<count where row[k] > row[best] { best = k }
        return best
    }
}
