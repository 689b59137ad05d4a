import CKernels

/// The step's mean gradient from the summed one.
public enum GradientMean {
    /// `mean[i] = Float(sums[i] * scale)` for `count` values (vectorised in C; the same rounding as
    /// the Swift expression). Returns false when some mean is infinite or NaN.
    public static func scaled(_ sums: UnsafePointer<Double>, by scale: Double, into mean: UnsafeMutablePointer<Float>, count: Int) -> Bool {
        ck_scaled_to_float(sums, scale, mean, count) != 0
    }
}
