extension Sequential {
    /// A Keras-style summary table: layer (type), output shape, parameter count, and the total; for a
    /// graph, Keras's functional table: an input row, and each layer's inputs ("Connected to").
    public func summary() -> String {
        var rows = zip(layerNames, layers).map { name, layer in
            ("\(name) (\(layer.kerasClassName))", layer.outputShape.description, layer.parameterCount + layer.stateCount)
        }
        var connections: [[String]] = []
        if !graph.isChain {
            rows.insert(("\(ModelGraph.inputName) (InputLayer)", inputShape.description, 0), at: 0)
            connections = [["-"]] + graph.inputs.map { $0.map { ($0 == ModelGraph.modelInput ? ModelGraph.inputName : layerNames[$0]) + "[0][0]" } }
        }
        let nameWidth = max(28, rows.map { $0.0.count }.max() ?? 0) + 2
        let shapeWidth = max(25, rows.map { $0.1.count }.max() ?? 0) + 2
        let paramWidth = 12
        let connectedWidth = connections.isEmpty ? 0 : max(20, connections.joined().map { $0.count + 1 }.max() ?? 0) + 2
        let ruleWidth = nameWidth + shapeWidth + paramWidth + connectedWidth
        func pad(_ s: String, _ width: Int) -> String { s + String(repeating: " ", count: max(0, width - s.count)) }
        func padLeft(_ s: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }

        let connected = connections.isEmpty ? "" : "  Connected to"
        var lines = [connections.isEmpty ? "Model: \"sequential\"" : "Model: \"functional\""]
        lines.append(String(repeating: "━", count: ruleWidth))
        lines.append(pad("Layer (type)", nameWidth) + pad("Output Shape", shapeWidth) + padLeft("Param #", paramWidth) + connected)
        lines.append(String(repeating: "━", count: ruleWidth))
        for (index, row) in rows.enumerated() {
            let sources = connections.isEmpty ? [] : connections[index]
            let first = sources.first.map { "  " + $0 + (sources.count > 1 ? "," : "") } ?? ""
            lines.append(pad(row.0, nameWidth) + pad(row.1, shapeWidth) + padLeft(grouped(row.2), paramWidth) + first)
            for (k, source) in sources.enumerated().dropFirst() {
                lines.append(String(repeating: " ", count: nameWidth + shapeWidth + paramWidth + 2) + source + (k < sources.count - 1 ? "," : ""))
            }
            lines.append(String(repeating: index == rows.count - 1 ? "━" : "─", count: ruleWidth))
        }
        let total = parameterCount + stateCount
        lines.append(" Total params: \(grouped(total)) (\(byteSize(total * 4)))")
        lines.append(" Trainable params: \(grouped(parameterCount)) (\(byteSize(parameterCount * 4)))")
        lines.append(" Non-trainable params: \(grouped(stateCount)) (\(byteSize(stateCount * 4)))")
        return lines.joined(separator: "\n")
    }
}

/// `93322` -> `93,322`.
public func grouped(_ value: Int) -> String {
    let digits = String(value.magnitude)
    var out = ""
    for (i, ch) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(ch)
    }
    return value < 0 ? "-" + out : out
}

func byteSize(_ bytes: Int) -> String {
    let kib = Double(bytes) / 1024
    if kib < 1 { return "\(bytes).00 B" }
    if kib < 1024 { return String(format2(kib)) + " KB" }
    return String(format2(kib / 1024)) + " MB"
}

private func format2(_ x: Double) -> String {
    let scaled = (x * 100).rounded()
    let whole = Int(scaled) / 100, fraction = Int(scaled) % 100
    return "\(whole).\(fraction < 10 ? "0" : "")\(fraction)"
}
