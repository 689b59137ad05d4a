import ConvNetCore

/// ONNX `MaxPool` on NCHW.
extension MaxPool2D: ExportableLayer {
    func addONNX(to onnx: inout ONNXExport.Builder, name: String) throws {
        onnx.toNCHW(name)
        onnx.current = onnx.graph.node("MaxPool", [onnx.current], name: name, attributes: try ONNXExport.Builder.window(
            inputShape, size: window.size, strides: window.strides ?? window.size, padding: window.padding))
    }
}
