import ConvNetCore

/// ONNX `AveragePool` on NCHW; `count_include_pad = 0`: a window over the padding averages only the
/// cells inside the image, as Keras does.
extension AvgPool2D: ExportableLayer {
    func addONNX(to onnx: inout ONNXExport.Builder, name: String) throws {
        onnx.toNCHW(name)
        onnx.current = onnx.graph.node("AveragePool", [onnx.current], name: name, attributes: try ONNXExport.Builder.window(
            inputShape, size: window.size, strides: window.strides ?? window.size, padding: window.padding)
            + [ONNXGraph.int("count_include_pad", 0)])
    }
}
