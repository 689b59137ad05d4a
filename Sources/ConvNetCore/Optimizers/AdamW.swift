/// Keras 3's `AdamW`: Adam with decoupled weight decay, on by default (`weight_decay = 0.004`):
///
///     w -= w * weight_decay * lr        (Optimizer.decayWeights, at this step's learning rate)
///     then Adam's step (Adam.update), with the same state, `m` and `v`.
public final class AdamW: Optimizer {
    public static let name = "adamw", kerasClass = "AdamW"
    public static let keys: [OptimizerKey<AdamW>] = [.positive("learning_rate", \.learningRate), .weightDecay(\.weightDecay),
                                                     .fraction("beta_1", \.beta1), .fraction("beta_2", \.beta2),
                                                     .positive("epsilon", \.epsilon)]
    public var learningRate: Float = 0.001
    public var weightDecay: Float? = 0.004
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-7
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
}
