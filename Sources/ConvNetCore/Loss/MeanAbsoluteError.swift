/// Mean absolute error over the classes against the one-hot target (Keras `mean_absolute_error`):
/// `loss = mean_k |p_k - y_k|`, `d loss / d p_k = sign(p_k - y_k) / K`. Config: `name = "mean_absolute_error"`.
public struct MeanAbsoluteError: MeanOverClassesLoss {
    public static let name = "mean_absolute_error", kerasClass = "MeanAbsoluteError"
    public init() {}
    public static func term(_ d: Float) -> (value: Float, derivative: Float) { (abs(d), d > 0 ? 1 : (d < 0 ? -1 : 0)) }
}
