/// A layer with two or more inputs (Keras's merging layers: `Add`, `Concatenate`), the one
/// extension of `Layer`'s contract that graphs need. The runner binds it with `bound(toInputs:)` and
/// runs it through the passes below; `Layer`'s one-input passes treat it as a merge of one input.
///
/// Pass contract, for a batch of `batch` samples:
/// - `forward` reads `xs[k][batch, inputShapes[k]]` and writes `y[batch, outputShape]`.
/// - `backward` reads `dy[batch, outputShape]` and, for each non-nil `dxs[k]`, overwrites
///   `dxs[k][batch, inputShapes[k]]` with the gradient with respect to input `k`. Merging layers have
///   no parameters, so nothing else changes.
public protocol MergingLayer: Layer {
    /// Input shapes, in `inputs` order (empty until bound).
    var inputShapes: [TensorShape] { get }
    /// A copy bound to these input shapes; throws a message (without the layer's position) when it
    /// cannot merge them.
    func bound(toInputs shapes: [TensorShape]) throws -> Self
    func forward(inputs xs: [UnsafePointer<Float>], _ y: UnsafeMutablePointer<Float>, batch: Int)
    func backward(dy: UnsafePointer<Float>, dxs: [UnsafeMutablePointer<Float>?], batch: Int)
}

extension MergingLayer {
    /// The first input's shape.
    public var inputShape: TensorShape { inputShapes.first ?? TensorShape([]) }

    public func bound(to inputShape: TensorShape) throws -> Self { try bound(toInputs: [inputShape]) }

    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                        parameters: UnsafePointer<Float>, memory: LayerMemory, context: PassContext) {
        forward(inputs: [x], y, batch: batch)
    }

    public func backward(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                         dx: UnsafeMutablePointer<Float>?, batch: Int,
                         parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Double>,
                         memory: LayerMemory, context: PassContext) {
        backward(dy: dy, dxs: [dx], batch: batch)
    }
}
