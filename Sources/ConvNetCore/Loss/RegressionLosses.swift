#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Mean squared error over the classes against the one-hot target (Keras `mean_squared_error`):
/// `loss = mean_k (p_k - y_k)^2`, `d loss / d p_k = 2 (p_k - y_k) / K`. Config: `name = "mean_squared_error"`.
public struct MeanSquaredError: Loss {
    public static let name = "mean_squared_error"
    public init() {}
    public init(config: ConfigTable) throws {}

    public func sampleLoss(output p: UnsafePointer<Float>, label: Int, classes: Int, fused: Bool,
                           gradient: UnsafeMutablePointer<Float>?) -> Double {
        meanOverClasses(p, label: label, classes: classes, gradient: gradient) { d in (d * d, 2 * d) }
    }
}

/// Mean absolute error over the classes against the one-hot target (Keras `mean_absolute_error`):
/// `loss = mean_k |p_k - y_k|`, `d loss / d p_k = sign(p_k - y_k) / K`. Config: `name = "mean_absolute_error"`.
public struct MeanAbsoluteError: Loss {
    public static let name = "mean_absolute_error"
    public init() {}
    public init(config: ConfigTable) throws {}

    public func sampleLoss(output p: UnsafePointer<Float>, label: Int, classes: Int, fused: Bool,
                           gradient: UnsafeMutablePointer<Float>?) -> Double {
        meanOverClasses(p, label: label, classes: classes, gradient: gradient) { d in (abs(d), d > 0 ? 1 : (d < 0 ? -1 : 0)) }
    }
}

/// `mean_k f(p_k - y_k)` for a one-hot `y`, and its gradient `f'(p_k - y_k) / K`; `f` returns both.
@inline(__always)
private func meanOverClasses(_ p: UnsafePointer<Float>, label: Int, classes: Int, gradient: UnsafeMutablePointer<Float>?,
                             _ f: (Float) -> (value: Float, derivative: Float)) -> Double {
    var sum: Float = 0
    for k in 0..<classes {
        let (value, derivative) = f(p[k] - (k == label ? 1 : 0))
        sum += value
        gradient?[k] = derivative / Float(classes)
    }
    return Double(sum / Float(classes))
}

/// Keras `categorical_hinge`: with `pos = sum_k y_k p_k` and `neg = max_k (1 - y_k) p_k`,
/// `loss = max(neg - pos + 1, 0)`. Config: `name = "categorical_hinge"`.
public struct CategoricalHinge: Loss {
    public static let name = "categorical_hinge"
    public init() {}
    public init(config: ConfigTable) throws {}

    public func sampleLoss(output p: UnsafePointer<Float>, label: Int, classes: Int, fused: Bool,
                           gradient: UnsafeMutablePointer<Float>?) -> Double {
        let positive = p[label]
        var negative = -Float.infinity, worst = 0
        for k in 0..<classes {
            let v = k == label ? 0 : p[k]
            if v > negative { negative = v; worst = k }
        }
        let margin = negative - positive + 1
        if let gradient {
            for k in 0..<classes { gradient[k] = 0 }
            if margin > 0 {
                gradient[label] -= 1
                if worst != label { gradient[worst] += 1 }
            }
        }
        return Double(max(margin, 0))
    }
}

/// Kullback-Leibler divergence from the one-hot target (Keras `kl_divergence`): both clipped to
/// `[1e-7, 1]`, `loss = sum_k y_k log(y_k / p_k)`, `d loss / d p_k = -y_k / p_k` where `p_k` is not clipped.
/// Config: `name = "kl_divergence"`.
public struct KLDivergence: Loss {
    public static let name = "kl_divergence"
    public init() {}
    public init(config: ConfigTable) throws {}

    public func sampleLoss(output p: UnsafePointer<Float>, label: Int, classes: Int, fused: Bool,
                           gradient: UnsafeMutablePointer<Float>?) -> Double {
        var loss: Float = 0
        for k in 0..<classes {
            let y = min(max(k == label ? 1 : 0, LossMath.epsilon), 1), q = min(max(p[k], LossMath.epsilon), 1)
            loss += y * logf(y / q)
            gradient?[k] = (p[k] >= LossMath.epsilon && p[k] <= 1) ? -y / q : 0
        }
        return Double(loss)
    }
}
