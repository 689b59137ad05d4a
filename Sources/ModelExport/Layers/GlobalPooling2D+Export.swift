import ConvNetCore

/// ONNX `GlobalAveragePool` / `GlobalMaxPool` on NCHW, then `Flatten` to `[N, channels]`.
extension GlobalAvgPool2D: ExportableLayer {
    func addONNX(to onnx: inout ONNXExport.Builder, name: String) throws {
        onnx.globalPool("GlobalAveragePool", name: name)
    }
}

extension GlobalMaxPool2D: ExportableLayer {
    func addONNX(to onnx: inout ONNXExport.Builder, name: String) throws {
        onnx.globalPool("GlobalMaxPool", name: name)
    }
}

extension ONNXExport.Builder {
    mutating func globalPool(_ operator: String, name: String) {
        toNCHW(name)
        current = graph.node(`operator`, [current], name: name)
        current = graph.node("Flatten", [current], name: name, attributes: [ONNXGraph.int("axis", 1)])
        layout = .flat
    }
}
