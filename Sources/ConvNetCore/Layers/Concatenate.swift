/// Keras `Concatenate` on the last axis (channels, in NHWC): inputs whose shapes agree but in
/// their last size; `y[..., c]` takes input 0's channels, then input 1's, and so on. Backward splits
/// `dy` the same way. Config: `type = "concatenate"`, `inputs = ["a", "b", ...]`, no other keys.
public struct Concatenate: MergingLayer {
    public static let typeName = "concatenate"
    public static let kerasClassName = "Concatenate"

    public private(set) var inputShapes: [TensorShape] = []

    public init() {}
    public init(config: ConfigTable) throws {}
    public var config: [ConfigEntry] { [] }

    public func bound(toInputs shapes: [TensorShape]) throws -> Concatenate {
        let leading = shapes[0].dimensions.dropLast()
        if let other = shapes.first(where: { $0.rank != shapes[0].rank || $0.dimensions.dropLast() != leading }) {
            throw DescriptionError("concatenate needs inputs that differ only in their last size (channels), got \(shapes[0]) and \(other)")
        }
        var layer = self
        layer.inputShapes = shapes
        return layer
    }

    public var outputShape: TensorShape {
        TensorShape(Array(inputShape.dimensions.dropLast()) + [inputShapes.reduce(0) { $0 + ($1.dimensions.last ?? 0) }])
    }

    /// Positions per sample (all but the last axis), and the channel width of the output.
    private var positions: Int { inputShape.count / max(inputShape.dimensions.last ?? 1, 1) }

    public func forward(inputs xs: [UnsafePointer<Float>], _ y: UnsafeMutablePointer<Float>, batch: Int) {
        let width = outputShape.dimensions.last!
        var start = 0
        for (x, shape) in zip(xs, inputShapes) {
            let channels = shape.dimensions.last!
            for p in 0..<(batch * positions) {
                (y + p * width + start).update(from: x + p * channels, count: channels)
            }
            start += channels
        }
    }

    public func backward(dy: UnsafePointer<Float>, dxs: [UnsafeMutablePointer<Float>?], batch: Int) {
        let width = outputShape.dimensions.last!
        var start = 0
        for (dx, shape) in zip(dxs, inputShapes) {
            let channels = shape.dimensions.last!
            if let dx {
                for p in 0..<(batch * positions) {
                    (dx + p * channels).update(from: dy + p * width + start, count: channels)
                }
            }
            start += channels
        }
    }
}
