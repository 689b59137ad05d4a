/// Stochastic gradient descent with optional (Nesterov) momentum, as Keras 3 computes it:
///
///     velocity = momentum * velocity - lr * g
///     w += velocity                                  (plain)
///     w += momentum * velocity - lr * g              (nesterov)
///
/// With momentum 0 this is `w -= lr * g`. `weight_decay` first decays `w` (`Optimizer.decayWeights`).
public final class SGD: Optimizer {
    public static let name = "sgd", kerasClass = "SGD"
    public static let keys: [OptimizerKey<SGD>] = [.positive("learning_rate", \.learningRate), .fraction("momentum", \.momentum),
                                                   .bool("nesterov", \.nesterov), .weightDecay(\.weightDecay)]
    public var learningRate: Float = 0.01
    public var momentum: Float = 0
    public var nesterov = false
    public var weightDecay: Float?
    public var iterations = 0
    public let velocity: FloatBuffer

    public init(parameterCount: Int) { velocity = FloatBuffer(count: parameterCount) }

    public var state: [(name: String, buffer: FloatBuffer)] { [("momentum", velocity)] }

    public func update(parameters w: UnsafeMutablePointer<Float>, gradients g: UnsafePointer<Float>, range: Range<Int>) {
        decayWeights(w, range: range)
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
