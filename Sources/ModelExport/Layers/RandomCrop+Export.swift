import ConvNetCore

/// The inference crop, the centred window, as ONNX `Slice` over the image's height and width axes
/// (in whichever layout the value is). The Keras layer is the default: `keras.layers.RandomCrop(height=..., width=...)`.
extension RandomCrop: ExportableLayer {
    func addONNX(to onnx: inout ONNXExport.Builder, name: String) throws {
        let d = inputShape.dimensions, (top, left) = ((d[0] - height) / 2, (d[1] - width) / 2)
        let axes = onnx.layout == .nchw ? [2, 3] : [1, 2]
        onnx.current = onnx.graph.node("Slice", [
            onnx.current,
            onnx.graph.int64Constant("\(name).starts", values: [top, left]),
            onnx.graph.int64Constant("\(name).ends", values: [top + height, left + width]),
            onnx.graph.int64Constant("\(name).axes", values: axes),
        ], name: name)
    }
}
