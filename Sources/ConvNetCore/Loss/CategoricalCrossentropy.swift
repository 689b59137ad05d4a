#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Categorical cross-entropy (Keras `categorical_crossentropy`), the default loss.
///
/// Config: `[loss] name = "categorical_crossentropy"`, `label_smoothing` (0), `from_logits` (false).
/// With target `y` (one-hot, smoothed: `y * (1 - s) + s / K`):
///
///     from probabilities p:  loss = -sum_k y_k log(clip(p_k / sum p, 1e-7, 1 - 1e-7))
///     from logits z:         loss = -sum_k y_k log softmax(z)_k,   d loss / d z = softmax(z) - y
///
/// When the model ends in softmax (the usual case) the two are fused: the gradient goes straight to
/// the logits as `p - y`, as Keras does through the softmax's `_keras_logits`, and the loss is
/// `-sum_k y_k log(clip(p_k))`. `from_logits = true` needs a model that ends without softmax.
public struct CategoricalCrossentropy: Loss {
    public static let name = "categorical_crossentropy", kerasClass = "CategoricalCrossentropy"
    public let labelSmoothing: Float
    public let fromLogits: Bool

    public init(labelSmoothing: Float = 0, fromLogits: Bool = false) {
        self.labelSmoothing = labelSmoothing
        self.fromLogits = fromLogits
    }

    public init(config: ConfigTable) throws {
        self.init(labelSmoothing: try config.float("label_smoothing", in: 0...1) ?? 0,
                  fromLogits: try config.bool("from_logits") ?? false)
    }

    public var config: [ConfigEntry] {
        (labelSmoothing != 0 ? [ConfigEntry("label_smoothing", .float(labelSmoothing))] : [])
            + (fromLogits ? [ConfigEntry("from_logits", .bool(true))] : [])
    }

    public func validate(outputActivation: Activation) throws {
        if fromLogits && outputActivation == .softmax {
            throw DescriptionError("loss.from_logits = true, but the last layer applies softmax: make its activation linear")
        }
        if !fromLogits && outputActivation != .softmax {
            throw DescriptionError("loss categorical_crossentropy needs probabilities: end the model with activation softmax, or set loss.from_logits = true")
        }
    }

    public func fusesSoftmax(outputActivation: Activation) -> Bool { !fromLogits && outputActivation == .softmax }

    public func sampleLoss(output p: UnsafePointer<Float>, label: Int, classes: Int, fused: Bool,
                           gradient: UnsafeMutablePointer<Float>?) -> Double {
        if fromLogits { return fromLogitsLoss(p, label: label, classes: classes, gradient: gradient) }
        if fused {
            // The reference model's path: the exact operations of the first versions, so its runs stay bit-identical.
            if labelSmoothing == 0 {
                if let gradient {
                    for k in 0..<classes { gradient[k] = p[k] }
                    gradient[label] -= 1
                }
                return -log(Double(clip(p[label])))
            }
            var loss = 0.0
            for k in 0..<classes {
                let y = LossMath.target(k, label: label, classes: classes, smoothing: labelSmoothing)
                loss -= Double(y) * log(Double(clip(p[k])))
                gradient?[k] = p[k] - y
            }
            return loss
        }
        // Keras's general form: normalise, clip, and differentiate through both.
        var sum: Float = 0
        for k in 0..<classes { sum += p[k] }
        var loss = 0.0, weighted: Float = 0
        for k in 0..<classes {
            let y = LossMath.target(k, label: label, classes: classes, smoothing: labelSmoothing)
            let q = p[k] / sum, c = clip(q)
            loss -= Double(y) * log(Double(c))
            let dq: Float = (q >= LossMath.epsilon && q <= 1 - LossMath.epsilon) ? -y / c : 0
            gradient?[k] = dq
            weighted += dq * q
        }
        if let gradient { for k in 0..<classes { gradient[k] = (gradient[k] - weighted) / sum } }
        return loss
    }

    private func fromLogitsLoss(_ z: UnsafePointer<Float>, label: Int, classes: Int, gradient: UnsafeMutablePointer<Float>?) -> Double {
        var largest = -Float.infinity
        for k in 0..<classes { largest = max(largest, z[k]) }
        var sum = 0.0
        for k in 0..<classes { sum += Double(expf(z[k] - largest)) }
        let logSum = log(sum)
        var loss = 0.0
        for k in 0..<classes {
            let y = LossMath.target(k, label: label, classes: classes, smoothing: labelSmoothing)
            let logP = Double(z[k] - largest) - logSum
            loss -= Double(y) * logP
            gradient?[k] = Float(exp(logP)) - y
        }
        return loss
    }

    @inline(__always) private func clip(_ p: Float) -> Float { min(max(p, LossMath.epsilon), 1 - LossMath.epsilon) }
}
