import ConvNetCore

/// A layer kind that can leave convnet-dist: its ONNX nodes and the Keras layer it is. Each kind
/// adopts it in a file of its own, `Layers/<Kind>+Export.swift`; `ONNXExport` and `KerasScript` find
/// it through the conformance (no list, no switch), and refuse a kind without it by name.
protocol ExportableLayer: Layer {
    /// Appends the layer's nodes to `onnx`: they read `onnx.current` (in `onnx.layout`) and leave the
    /// layer's output there. `name` is the layer's (`conv2d_1`); its tensors are `name.kernel`, ...
    func addONNX(to onnx: inout ONNXExport.Builder, name: String) throws

    /// The arguments of `keras.layers.<kerasClassName>(...)`, before `name=`. The default passes
    /// every config key as a keyword argument, which is all a layer needs whose keys are Keras's own
    /// constructor arguments with Keras's defaults.
    func kerasArguments() throws -> [String]
}

extension ExportableLayer {
    func kerasArguments() throws -> [String] {
        try config.map { "\($0.key)=\(try KerasScript.argument($0.value, key: $0.key))" }
    }
}

extension KerasScript {
    /// A config value as a Keras constructor argument: arrays become tuples, and a `*_regularizer`
    /// table (`{ l2 = 0.0001 }`) becomes `keras.regularizers.L1L2(l2=0.0001)`.
    static func argument(_ value: ConfigValue, key: String) throws -> String {
        switch value {
        case let .array(values):
            let items = try values.map { try argument($0, key: key) }
            return "(" + items.joined(separator: ", ") + (items.count == 1 ? ",)" : ")")
        case let .table(entries) where key.hasSuffix("_regularizer"):
            let arguments = try entries.map { "\($0.key)=\(try python($0.value))" }
            return "keras.regularizers.L1L2(\(arguments.joined(separator: ", ")))"
        default:
            return try python(value)
        }
    }
}
