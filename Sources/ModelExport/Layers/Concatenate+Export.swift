import ConvNetCore

/// ONNX `Concat` on the channel axis (1 in NCHW, the last otherwise); Keras `Concatenate` (axis -1).
extension Concatenate: ExportableLayer {
    func addONNX(to onnx: inout ONNXExport.Builder, name: String) throws {
        let inputs = onnx.mergedInputs(name)
        onnx.current = onnx.graph.node("Concat", inputs, name: name,
                                       attributes: [ONNXGraph.int("axis", onnx.layout == .nchw ? 1 : -1)])
    }
}
