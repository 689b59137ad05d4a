import CKernels

/// RMSprop as Keras 3 computes it (not centered, no momentum), with epsilon inside the square root:
///
///     rms = rho * rms + (1 - rho) * g^2
///     w  -= lr * g / sqrt(rms + epsilon)
///
/// `weight_decay` first decays `w` (`Optimizer.decayWeights`).
public final class RMSprop: Optimizer {
    public static let name = "rmsprop", kerasClass = "RMSprop"
    public static let keys: [OptimizerKey<RMSprop>] = [.positive("learning_rate", \.learningRate), .fraction("rho", \.rho),
                                                       .positive("epsilon", \.epsilon),
                                                       .weightDecay(\.weightDecay)]
    public var learningRate: Float = 0.001
    public var rho: Float = 0.9
    public var epsilon: Float = 1e-7
    public var weightDecay: Float?
    public var iterations = 0
    public let rms: FloatBuffer

    public init(parameterCount: Int) { rms = FloatBuffer(count: parameterCount) }

    public var state: [(name: String, buffer: FloatBuffer)] { [("rms", rms)] }

    public func update(parameters w: UnsafeMutablePointer<Float>, gradients g: UnsafePointer<Float>, range: Range<Int>) {
        // In C, vectorised: the same operations per element, in the same order (see ck_rmsprop_step).
        decayWeights(w, range: range)
        let i = range.lowerBound
        ck_rmsprop_step(w + i, g + i, rms.pointer + i, range.count, learningRate, rho, epsilon)
    }
}
