import ConvNetCore

/// The activation's ONNX nodes (`ONNXExport.Builder.activate`).
extension ActivationLayer: ExportableLayer {
    func addONNX(to onnx: inout ONNXExport.Builder, name: String) throws {
        try onnx.activate(activation, name: name)
    }
}
