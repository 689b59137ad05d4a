#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Kullback-Leibler divergence from the one-hot target (Keras `kl_divergence`): both clipped to
/// `[1e-7, 1]`, `loss = sum_k y_k log(y_k / p_k)`, `d loss / d p_k = -y_k / p_k` where `p_k` is not clipped.
/// Config: `name = "kl_divergence"`.
public struct KLDivergence: KeylessLoss {
    public static let name = "kl_divergence", kerasClass = "KLDivergence"
    public init() {}

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
