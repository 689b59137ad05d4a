import ConvNetCore

/// ONNX `Sub` of the mean, then `Div` by max(sqrt(variance), 1e-7), per channel of the last axis
/// (NHWC or flat). The Keras layer is the default: `keras.layers.Normalization(mean=..., variance=...)`.
extension Normalization: ExportableLayer {
    func addONNX(to onnx: inout ONNXExport.Builder, name: String) throws {
        onnx.toNHWC(name)
        let c = inputShape.dimensions.last!
        let means = (0..<c).map { mean.count == 1 ? mean[0] : mean[$0] }
        let deviations = (0..<c).map { max((variance.count == 1 ? variance[0] : variance[$0]).squareRoot(), 1e-7) }
        let centred = onnx.graph.node("Sub", [onnx.current, onnx.graph.constant("\(name).mean", dims: [c], values: means)], name: name)
        onnx.current = onnx.graph.node("Div", [centred, onnx.graph.constant("\(name).deviation", dims: [c], values: deviations)], name: name)
    }
}
