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

    public func step(parameters w: UnsafeMutablePointer<Float>, gradients g: UnsafePointer<Float>, count: Int) {
        let v = velocity.pointer, lr = learningRate, mu = momentum
        if mu == 0 {
            for i in 0..<count { w[i] -= lr * g[i] }
        } else if nesterov {
            for i in 0..<count {
                v[i] = mu * v[i] - lr * g[i]
                w[i] += mu * v[i] - lr * g[i]
            }
        } else {
            for i in 0..<count {
                v[i] = mu * v[i] - lr * g[i]
                w[i] += v[i]
            }
        }
        iterations += 1
    }
}
