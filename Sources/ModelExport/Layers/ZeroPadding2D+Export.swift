import ConvNetCore

/// ONNX `Pad` (constant zeros) on NCHW. The Keras layer is the default: `keras.layers.ZeroPadding2D(padding=...)`.
extension ZeroPadding2D: ExportableLayer {
    func addONNX(to onnx: inout ONNXExport.Builder, name: String) throws {
        onnx.toNCHW(name)
        let ((top, bottom), (left, right)) = padding
        let pads = onnx.graph.int64Constant("\(name).pads", values: [0, 0, top, left, 0, 0, bottom, right])
        onnx.current = onnx.graph.node("Pad", [onnx.current, pads], name: name, attributes: [ONNXGraph.string("mode", "constant")])
    }
}
