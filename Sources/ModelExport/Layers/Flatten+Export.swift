import ConvNetCore

/// ONNX `Flatten` of the NHWC value, so the flattened order is Keras's (nothing to do when already flat).
extension Flatten: ExportableLayer {
    func addONNX(to onnx: inout ONNXExport.Builder, name: String) throws {
        guard onnx.layout != .flat else { return }
        onnx.toNHWC(name)
        onnx.current = onnx.graph.node("Flatten", [onnx.current], name: name, attributes: [ONNXGraph.int("axis", 1)])
        onnx.layout = .flat
    }
}
