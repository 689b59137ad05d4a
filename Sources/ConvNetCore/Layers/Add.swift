import CKernels

/// Keras `Add`: `y = x[0] + x[1] + ...`, added in input order in Float, inputs of one shape (the
/// sum of a residual block and its shortcut). Backward: every `dx[k] = dy`.
/// Config: `type = "add"`, `inputs = ["a", "b", ...]`, no other keys.
public struct Add: MergingLayer, FusesOutputReLU {
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

    /// `y = max(x[0] + x[1] + ..., 0)`: with two inputs in one pass.
    public func forwardReLU(inputs xs: [UnsafePointer<Float>], _ y: UnsafeMutablePointer<Float>, batch: Int,
                            parameters: UnsafePointer<Float>, memory: LayerMemory, context: PassContext) {
        let count = batch * outputShape.count
        if xs.count == 2 { return ck_add_relu(xs[0], xs[1], y, count) }
        forward(inputs: xs, y, batch: batch)
        ck_relu(y, y, count)
    }

    /// Every `dx[k] = y > 0 ? dy : 0`, `y` the ReLU's output: the mask once, written to two inputs at a time.
    public func backwardReLU(inputs xs: [UnsafePointer<Float>], y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                             dxs: [UnsafeMutablePointer<Float>?], batch: Int,
                             parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Double>,
                             memory: LayerMemory, context: PassContext) {
        let count = batch * outputShape.count, targets = dxs.compactMap { $0 }
        guard let first = targets.first else { return }
        if targets.count == 2 { return ck_relu_backward_twice(y, dy, first, targets[1], count) }
        ck_relu_backward_into(y, dy, first, count)
        for dx in targets.dropFirst() { dx.update(from: first, count: count) }
    }
}
