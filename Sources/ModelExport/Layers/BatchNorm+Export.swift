import ConvNetCore

/// ONNX `BatchNormalization` with the moving statistics, on NCHW (ONNX normalises axis 1; a flat
/// `[N, units]` input already has its channels there); without `scale` or `center`, constant ones or zeros.
extension BatchNorm: ExportableLayer {
    func addONNX(to onnx: inout ONNXExport.Builder, name: String) throws {
        onnx.toNCHW(name)
        let channels = inputShape.dimensions.last!
        let gamma = scale ? try onnx.stored("\(name).gamma")
            : onnx.graph.constant("\(name).ones", dims: [channels], values: [Float](repeating: 1, count: channels))
        let beta = center ? try onnx.stored("\(name).beta")
            : onnx.graph.constant("\(name).zeros", dims: [channels], values: [Float](repeating: 0, count: channels))
        onnx.current = onnx.graph.node("BatchNormalization",
                                       [onnx.current, gamma, beta, try onnx.stored("\(name).moving_mean"), try onnx.stored("\(name).moving_variance")],
                                       name: name, attributes: [ONNXGraph.float("epsilon", epsilon)])
    }
}
