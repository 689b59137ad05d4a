import ConvNetCore

/// ONNX `Mul` then `Add` by scalars, in any layout. The Keras layer is the default:
/// `keras.layers.Rescaling(scale=..., offset=...)`.
extension Rescaling: ExportableLayer {
    func addONNX(to onnx: inout ONNXExport.Builder, name: String) throws {
        let scaled = onnx.graph.node("Mul", [onnx.current, onnx.graph.constant("\(name).scale", dims: [], values: [scale])], name: name)
        onnx.current = onnx.graph.node("Add", [scaled, onnx.graph.constant("\(name).offset", dims: [], values: [offset])], name: name)
    }
}
