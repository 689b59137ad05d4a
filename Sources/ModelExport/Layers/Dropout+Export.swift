import ConvNetCore

/// The identity in inference: no ONNX node.
extension Dropout: ExportableLayer {
    func addONNX(to onnx: inout ONNXExport.Builder, name: String) throws {}
}
