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
///
/// `weight_decay` first decays `w` (`Optimizer.decayWeights`); `AdamW` is this with a default decay.
public final class Adam: Optimizer {
    public static let name = "adam", kerasClass = "Adam"
    public static let keys: [OptimizerKey<Adam>] = [.positive("learning_rate", \.learningRate), .fraction("beta_1", \.beta1),
                                                    .fraction("beta_2", \.beta2), .positive("epsilon", \.epsilon),
                                                    .weightDecay(\.weightDecay)]
    public var learningRate: Float = 0.001
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-7
    public var weightDecay: Float?
    public var iterations = 0
    public let m: FloatBuffer
    public let v: FloatBuffer

    public init(parameterCount: Int) {
        m = FloatBuffer(count: parameterCount)
        v = FloatBuffer(count: parameterCount)
    }

    public var state: [(name: String, buffer: FloatBuffer)] { [("m", m), ("v", v)] }

    public func update(parameters w: UnsafeMutablePointer<Float>, gradients g: UnsafePointer<Float>, range: Range<Int>) {
        decayWeights(w, range: range)
        Adam.update(w, g, m: m.pointer, v: v.pointer, range: range, learningRate: learningRate, beta1: beta1, beta2: beta2,
                    epsilon: epsilon, iterations: iterations)
    }

    /// `1 - beta` as Keras takes it: Python subtracts the hyper-parameter as written (a double) and the
    /// result is rounded to a Float, so `1 - 0.9` is `0.1f`, where `1 - Float(0.9)` is 0.100000024.
    private static func kerasOneMinus(_ beta: Float) -> Float { Float(1 - (Double("\(beta)") ?? Double(beta))) }

    /// The update above, after any decay: Adam's and AdamW's.
    static func update(_ w: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>,
                       range: Range<Int>, learningRate: Float, beta1: Float, beta2: Float, epsilon: Float, iterations: Int) {
        let t = Float(iterations + 1)
        let alpha = learningRate * (1 - powf(beta2, t)).squareRoot() / (1 - powf(beta1, t))
        let oneMinusBeta1 = kerasOneMinus(beta1), oneMinusBeta2 = kerasOneMinus(beta2), eps = epsilon
        for i in range {
            m[i] += (g[i] - m[i]) * oneMinusBeta1
            v[i] += (g[i] * g[i] - v[i]) * oneMinusBeta2
            w[i] -= alpha * m[i] / (v[i].squareRoot() + eps)
        }
    }
}
