import ConvNetCore

/// The identity in inference: no ONNX node. The Keras layer is the default: `keras.layers.RandomFlip(mode=...)`.
extension RandomFlip: ExportableLayer {
    func addONNX(to onnx: inout ONNXExport.Builder, name: String) throws {}
}
