import CKernels

/// RMSprop as Keras 3 computes it (not centered, no momentum), with epsilon inside the square root:
///
///     rms = rho * rms + (1 - rho) * g^2
///     w  -= lr * g / sqrt(rms + epsilon)
public final class RMSprop: Optimizer {
    public static let name = "rmsprop"
    public static let kerasClass = "RMSprop"
    public var learningRate: Float
    public private(set) var rho: Float
    public private(set) var epsilon: Float
    public var iterations = 0
    public let rms: FloatBuffer

    /// Keras 3's defaults.
    public init(parameterCount: Int, learningRate: Float = 0.001, rho: Float = 0.9, epsilon: Float = 1e-7) {
        self.learningRate = learningRate
        self.rho = rho
        self.epsilon = epsilon
        rms = FloatBuffer(count: parameterCount)
    }

    public convenience init(config: ConfigTable, parameterCount: Int) throws {
        self.init(parameterCount: parameterCount)
        learningRate = try config.positive("learning_rate") ?? learningRate
        rho = try config.fraction("rho") ?? rho
        epsilon = try config.positive("epsilon") ?? epsilon
    }

    public var config: [ConfigEntry] {
        [ConfigEntry("learning_rate", .float(learningRate)), ConfigEntry("rho", .float(rho)), ConfigEntry("epsilon", .float(epsilon))]
    }

    public var state: [(name: String, buffer: FloatBuffer)] { [("rms", rms)] }

    public func update(parameters w: UnsafeMutablePointer<Float>, gradients g: UnsafePointer<Float>, range: Range<Int>) {
        // In C, vectorised: the same operations per element, in the same order (see ck_rmsprop_step).
        let i = range.lowerBound
        ck_rmsprop_step(w + i, g + i, rms.pointer + i, range.count, learningRate, rho, epsilon)
    }
}
