/// Stochastic gradient descent with optional (Nesterov) momentum, as Keras 3 computes it:
///
///     velocity = momentum * velocity - lr * g
///     w += velocity                                  (plain)
///     w += momentum * velocity - lr * g              (nesterov)
///
/// With momentum 0 this is `w -= lr * g`.
public final class SGD: Optimizer {
    public let name = "sgd"
    public var learningRate: Float
    public let momentum: Float
    public let nesterov: Bool
    public var iterations = 0
    public let velocity: FloatBuffer

    public init(parameterCount: Int, learningRate: Float = 0.01, momentum: Float = 0, nesterov: Bool = false) {
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
        velocity = FloatBuffer(count: parameterCount)
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
