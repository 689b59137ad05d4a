import CKernels

/// Keras `Add`: `y = x[0] + x[1] + ...`, added in input order in Float, inputs of one shape (the
/// sum of a residual block and its shortcut). Backward: every `dx[k] = dy`.
/// Config: `type = "add"`, `inputs = ["a", "b", ...]`, no other keys.
public struct Add: MergingLayer {
    public static let typeName = "add"
    public static let kerasClassName = "Add"

    public private(set) var inputShapes: [TensorShape] = []

    public init() {}
    public init(config: ConfigTable) throws {}
    public var config: [ConfigEntry] { [] }

    public func bound(toInputs shapes: [TensorShape]) throws -> Add {
        if let other = shapes.first(where: { $0 != shapes[0] }) {
            throw DescriptionError("add needs inputs of one shape, got \(shapes[0]) and \(other)")
        }
        var layer = self
        layer.inputShapes = shapes
        return layer
    }

    public var outputShape: TensorShape { inputShape }

    public func forward(inputs xs: [UnsafePointer<Float>], _ y: UnsafeMutablePointer<Float>, batch: Int) {
        let count = batch * outputShape.count
        if xs.count == 1 { return y.update(from: xs[0], count: count) }
        ck_add_into(xs[0], xs[1], y, count)
        for x in xs.dropFirst(2) { ck_add(y, x, count) }
    }

    public func backward(dy: UnsafePointer<Float>, dxs: [UnsafeMutablePointer<Float>?], batch: Int) {
        for dx in dxs { dx?.update(from: dy, count: batch * outputShape.count) }
    }
}
