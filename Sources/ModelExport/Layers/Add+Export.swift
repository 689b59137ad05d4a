import ConvNetCore

/// ONNX `Sum` of the inputs (in one layout); Keras `Add`.
extension Add: ExportableLayer {
    func addONNX(to onnx: inout ONNXExport.Builder, name: String) throws {
        let inputs = onnx.mergedInputs(name)
        onnx.current = onnx.graph.node("Sum", inputs, name: name)
    }
}
