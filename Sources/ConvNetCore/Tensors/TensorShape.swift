/// The shape of one sample's tensor, without the batch dimension.
///
/// Activations are NHWC, so an image-like shape is `[height, width, channels]` and a vector is `[units]`.
public struct TensorShape: Equatable, CustomStringConvertible, Sendable {
    public let dimensions: [Int]

    public init(_ dimensions: [Int]) { self.dimensions = dimensions }

    /// Number of scalars in one sample; `Int.max` when that overflows (sizes come from configs:
    /// a shape too large to count must reach `Sequential`'s size check, not trap here).
    public var count: Int {
        dimensions.reduce(1) { product, dimension in
            let (result, overflow) = product.multipliedReportingOverflow(by: dimension)
            return overflow ? Int.max : result
        }
    }
    public var rank: Int { dimensions.count }

    /// Keras-style text, e.g. `(None, 26, 26, 32)`.
    public var description: String {
        "(None, " + dimensions.map(String.init).joined(separator: ", ") + ")"
    }
}
