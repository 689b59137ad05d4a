import ConvNetCore

/// The identity in inference: no ONNX node. The Keras layer is the default, with every key
/// (`interpolation="nearest"` included, which is not Keras's default).
extension RandomTranslation: ExportableLayer {
    func addONNX(to onnx: inout ONNXExport.Builder, name: String) throws {}
}
