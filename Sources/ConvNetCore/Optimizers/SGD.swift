/// Stochastic gradient descent with optional (Nesterov) momentum, as Keras 3 computes it:
///
///     velocity = momentum * velocity - lr * g
///     w += velocity                                  (plain)
///     w += momentum * velocity - lr * g              (nesterov)
///
/// With momentum 0 this is `w -= lr * g`.
public final class SGD: Optimizer {
    public static let name = "sgd"
    public static let kerasClass = "SGD"
    public var learningRate: Float
    public private(set) var momentum: Float
    public private(set) var nesterov: Bool
    public var iterations = 0
    public let velocity: FloatBuffer

    /// Keras 3's defaults.
    public init(parameterCount: Int, learningRate: Float = 0.01, momentum: Float = 0, nesterov: Bool = false) {
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
        velocity = FloatBuffer(count: parameterCount)
    }

    public convenience init(config: ConfigTable, parameterCount: Int) throws {
        self.init(parameterCount: parameterCount)
        learningRate = try config.positive("learning_rate") ?? learningRate
        momentum = try config.fraction("momentum") ?? momentum
        nesterov = try config.bool("nesterov") ?? nesterov
    }

    public var config: [ConfigEntry] {
        [ConfigEntry("learning_rate", .float(learningRate)), ConfigEntry("momentum", .float(momentum)), ConfigEntry("nesterov", .bool(nesterov))]
    }

    public var state: [(name: String, buffer: FloatBuffer)] { [("momentum", velocity)] }

    public func update(parameters w: UnsafeMutablePointer<Float>, gradients g: UnsafePointer<Float>, range: Range<Int>) {
        let v = velocity.pointer, lr = learningRate, mu = momentum
        if mu == 0 {
            for i in range { w[i] -= lr * g[i] }
        } else if nesterov {
            for i in range {
                v[i] = mu * v[i] - lr * g[i]
                w[i] += mu * v[i] - lr * g[i]
            }
        } else {
            for i in range {
                v[i] = mu * v[i] - lr * g[i]
                w[i] += v[i]
            }
        }
    }
}
