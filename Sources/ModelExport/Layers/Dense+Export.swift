import ConvNetCore

/// ONNX `Gemm` (or `MatMul` without a bias) with the `[in, out]` kernel as it is, then the activation.
extension Dense: ExportableLayer {
    func addONNX(to onnx: inout ONNXExport.Builder, name: String) throws {
        guard onnx.layout == .flat else { throw ExportError("dense needs a flat input") }
        let kernel = try onnx.stored("\(name).kernel")
        if useBias {
            onnx.current = onnx.graph.node("Gemm", [onnx.current, kernel, try onnx.stored("\(name).bias")], name: name)
        } else {
            onnx.current = onnx.graph.node("MatMul", [onnx.current, kernel], name: name)
        }
        try onnx.activate(activation, name: name)
    }
}
