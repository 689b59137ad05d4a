#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Adam as Keras 3 computes it, with the bias correction folded into the step size:
///
///     t = iterations + 1
///     alpha = lr * sqrt(1 - beta2^t) / (1 - beta1^t)
///     m += (g - m) * (1 - beta1)
///     v += (g^2 - v) * (1 - beta2)
///     w -= alpha * m / (sqrt(v) + epsilon)
public final class Adam: Optimizer {
    public static let name = "adam"
    public static let kerasClass = "Adam"
    public var learningRate: Float
    public private(set) var beta1: Float
    public private(set) var beta2: Float
    public private(set) var epsilon: Float
    public var iterations = 0
    public let m: FloatBuffer
    public let v: FloatBuffer

    /// Keras 3's defaults.
    public init(parameterCount: Int, learningRate: Float = 0.001, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-7) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        m = FloatBuffer(count: parameterCount)
        v = FloatBuffer(count: parameterCount)
    }

    public convenience init(config: ConfigTable, parameterCount: Int) throws {
        self.init(parameterCount: parameterCount)
        learningRate = try config.positive("learning_rate") ?? learningRate
        beta1 = try config.fraction("beta_1") ?? beta1
        beta2 = try config.fraction("beta_2") ?? beta2
        epsilon = try config.positive("epsilon") ?? epsilon
    }

    public var config: [ConfigEntry] {
        [ConfigEntry("learning_rate", .float(learningRate)), ConfigEntry("beta_1", .float(beta1)), ConfigEntry("beta_2", .float(beta2)),
         ConfigEntry("epsilon", .float(epsilon))]
    }

    public var state: [(name: String, buffer: FloatBuffer)] { [("m", m), ("v", v)] }

    public func update(parameters w: UnsafeMutablePointer<Float>, gradients g: UnsafePointer<Float>, range: Range<Int>) {
        let t = Float(iterations + 1)
        let alpha = learningRate * (1 - powf(beta2, t)).squareRoot() / (1 - powf(beta1, t))
        let m = m.pointer, v = v.pointer, oneMinusBeta1 = 1 - beta1, oneMinusBeta2 = 1 - beta2, eps = epsilon
        for i in range {
            m[i] += (g[i] - m[i]) * oneMinusBeta1
            v[i] += (g[i] * g[i] - v[i]) * oneMinusBeta2
            w[i] -= alpha * m[i] / (v[i].squareRoot() + eps)
        }
    }
}
