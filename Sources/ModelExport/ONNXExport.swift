import ConvNetCore
import Foundation

/// A `Sequential` with its weights as an ONNX model (opset 13) in inference mode.
///
/// Contract: input `input`, float `[N, H, W, C]` (NHWC, exactly what the model takes, `N` symbolic);
/// output `output`, float `[N, classes]`: the model's own output, i.e. what `evaluate --outputs`
/// prints (softmax probabilities when the last layer applies softmax, logits when it is linear).
///
/// Our tensors are in Keras layouts (activations NHWC, conv kernels HWIO, dense kernels `[in, out]`),
/// while ONNX's Conv and pooling take NCHW and OIHW. So the graph transposes to NCHW before the first
/// layer that needs it and stays there; conv kernels are stored transposed to OIHW; and before
/// Flatten it transposes back to NHWC, so the flattened order is Keras's and the dense kernel is used
/// as it is (Gemm / MatMul with `[in, out]`). Dropout is the identity; batch normalisation uses the
/// moving statistics. Initializers keep our tensor names (`conv2d_1.kernel`, now OIHW). Each layer
/// kind's nodes come from its `ExportableLayer` conformance (`Layers/<Kind>+Export.swift`). In a graph
/// model each layer starts from its input's value and layout, and a merging layer first brings its
/// inputs to the first one's layout.
public enum ONNXExport {
    public static let opset = 13
    /// IR version 7 is the one that goes with opset 13.
    static let irVersion: Int64 = 7
    public static let inputName = "input"
    public static let outputName = "output"

    /// The serialized ONNX `ModelProto` of `model` with these weights (flat buffers in the model's
    /// parameter and state layouts). Throws `ExportError` naming a layer that has no mapping.
    public static func serialized(_ model: Sequential, parameters: [Float], state: [Float], docString: String = "") throws -> Data {
        try self.model(model, parameters: parameters, state: state, docString: docString).serializedData()
    }

    static func model(_ model: Sequential, parameters: [Float], state: [Float], docString: String = "") throws -> Onnx_ModelProto {
        var builder = Builder(model: model, parameters: parameters, state: state)
        var outputs: [(value: String, layout: Layout)] = []
        for (index, layer) in model.layers.enumerated() {
            if !model.graph.isChain {
                builder.mergeSources = model.graph.inputs[index].map { $0 == ModelGraph.modelInput ? (value: inputName, layout: Layout.nhwc) : outputs[$0] }
                (builder.current, builder.layout) = builder.mergeSources[0]
            }
            defer { outputs.append((builder.current, builder.layout)) }
            do {
                guard let mapped = layer as? any ExportableLayer else { throw ExportError("layer type \(layer.typeName) has no ONNX mapping") }
                try mapped.addONNX(to: &builder, name: model.layerNames[index])
            } catch let error as ExportError {
                throw ExportError("layer \(index + 1) (\(model.layerNames[index]), \(layer.typeName)): \(error.description)")
            }
        }
        var graph = Onnx_GraphProto()
        graph.name = "convnet-dist"
        _ = builder.graph.node("Identity", [builder.current], name: "output", output: outputName)
        graph.node = builder.graph.nodes
        graph.initializer = builder.graph.initializers
        graph.input = [ONNXGraph.floatValue(inputName, dims: [nil] + model.inputShape.dimensions)]
        graph.output = [ONNXGraph.floatValue(outputName, dims: [nil, model.classes])]

        var result = Onnx_ModelProto()
        result.irVersion = irVersion
        result.producerName = "convnet-dist"
        result.docString = docString
        var opsetImport = Onnx_OperatorSetIdProto()
        opsetImport.domain = ""
        opsetImport.version = Int64(opset)
        result.opsetImport = [opsetImport]
        result.graph = graph
        return result
    }
}
