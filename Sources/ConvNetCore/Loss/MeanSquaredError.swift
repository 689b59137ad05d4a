/// Mean squared error over the classes against the one-hot target (Keras `mean_squared_error`):
/// `loss = mean_k (p_k - y_k)^2`, `d loss / d p_k = 2 (p_k - y_k) / K`. Config: `name = "mean_squared_error"`.
public struct MeanSquaredError: MeanOverClassesLoss {
    public static let name = "mean_squared_error", kerasClass = "MeanSquaredError"
    public init() {}
    public static func term(_ d: Float) -> (value: Float, derivative: Float) { (d * d, 2 * d) }
}
