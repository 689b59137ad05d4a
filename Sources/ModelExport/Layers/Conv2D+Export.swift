import ConvNetCore

/// ONNX `Conv` on NCHW with the kernel stored as OIHW, then the activation.
extension Conv2D: ExportableLayer {
    func addONNX(to onnx: inout ONNXExport.Builder, name: String) throws {
        onnx.toNCHW(name)
        let (shape, hwio) = try onnx.tensor("\(name).kernel")
        let (kh, kw, inputs, outputs) = (shape[0], shape[1], shape[2], shape[3])
        var oihw = [Float](repeating: 0, count: hwio.count)
        for a in 0..<kh { for b in 0..<kw { for i in 0..<inputs { for o in 0..<outputs {
            oihw[((o * inputs + i) * kh + a) * kw + b] = hwio[((a * kw + b) * inputs + i) * outputs + o]
        } } } }
        var inputsOfNode = [onnx.current, onnx.graph.constant("\(name).kernel", dims: [outputs, inputs, kh, kw], values: oihw)]
        if useBias { inputsOfNode.append(try onnx.stored("\(name).bias")) }
        let attributes = try ONNXExport.Builder.window(inputShape, size: kernelSize, strides: strides, padding: padding)
        onnx.current = onnx.graph.node("Conv", inputsOfNode, name: name, attributes: attributes + [ONNXGraph.ints("dilations", [1, 1])])
        try onnx.activate(activation, name: name)
    }
}

extension Conv2D {
    /// Keras's arguments: the config without `convolution`, which picks how the same function is computed.
    func kerasArguments() throws -> [String] {
        try config.filter { $0.key != "convolution" }.map { "\($0.key)=\(try KerasScript.argument($0.value, key: $0.key))" }
    }
}
