import ConvNetCore

/// ONNX `Resize` on NCHW, nearest, each output pixel taking input pixel `floor(i / scale)`: Keras's copies.
/// The Keras layer is the default: `keras.layers.UpSampling2D(size=(sh, sw))`.
extension UpSampling2D: ExportableLayer {
    func addONNX(to onnx: inout ONNXExport.Builder, name: String) throws {
        onnx.toNCHW(name)
        let scales = onnx.graph.constant("\(name).scales", dims: [4], values: [1, 1, Float(size.0), Float(size.1)])
        onnx.current = onnx.graph.node("Resize", [onnx.current, "", scales], name: name, attributes: [
            ONNXGraph.string("mode", "nearest"), ONNXGraph.string("coordinate_transformation_mode", "asymmetric"),
            ONNXGraph.string("nearest_mode", "floor")])
    }
}
