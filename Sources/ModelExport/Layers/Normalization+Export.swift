import ConvNetCore

/// ONNX `Sub` of the mean, then `Div` by max(sqrt(variance), 1e-7), per channel of the last axis
/// (NHWC or flat), from the config or from the adapted state. The Keras layer: `Normalization(mean=...,
/// variance=...)`, or, adapted, `Normalization()`, whose `mean`, `variance` and `count` weights load by name.
extension Normalization: ExportableLayer {
    func addONNX(to onnx: inout ONNXExport.Builder, name: String) throws {
        onnx.toNHWC(name)
        let c = inputShape.dimensions.last!
        let state = adapt ? try onnx.tensor("\(name).mean").values + onnx.tensor("\(name).variance").values : []
        let (means, deviations) = (state + [0]).withUnsafeBufferPointer { statistics(state: $0.baseAddress!) }
        let centred = onnx.graph.node("Sub", [onnx.current, onnx.graph.constant("\(name).mean", dims: [c], values: means)], name: name)
        onnx.current = onnx.graph.node("Div", [centred, onnx.graph.constant("\(name).deviation", dims: [c], values: deviations)], name: name)
    }

    func kerasArguments() throws -> [String] {
        adapt ? [] : try config.map { "\($0.key)=\(try KerasScript.argument($0.value, key: $0.key))" }
    }
}
