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
/// moving statistics. Initializers keep our tensor names (`conv2d_1.kernel`, now OIHW).
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
        for (index, layer) in model.layers.enumerated() {
            do { try builder.add(layer, name: model.layerNames[index]) } catch let error as ExportError {
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

    /// The current value's memory layout: `nhwc` and `nchw` for images, `flat` for `[N, units]`.
    enum Layout { case nhwc, nchw, flat }

    struct Builder {
        let model: Sequential
        let parameters: [Float]
        let state: [Float]
        var graph = ONNXGraph()
        var current = ONNXExport.inputName
        var layout = Layout.nhwc

        init(model: Sequential, parameters: [Float], state: [Float]) {
            self.model = model
            self.parameters = parameters
            self.state = state
        }

        func tensor(_ name: String) throws -> (shape: [Int], values: [Float]) {
            if let view = model.parameterLayout.view(named: name) { return (view.shape, Array(parameters[view.range])) }
            if let view = model.stateLayout.view(named: name) { return (view.shape, Array(state[view.range])) }
            throw ExportError("the checkpoint has no tensor \(name)")
        }

        /// Adds `name` as an initializer in its stored shape and returns its name.
        mutating func stored(_ name: String) throws -> String {
            let (shape, values) = try tensor(name)
            return graph.constant(name, dims: shape, values: values)
        }

        mutating func toNCHW(_ name: String) {
            guard layout == .nhwc else { return }
            current = graph.node("Transpose", [current], name: name, attributes: [ONNXGraph.ints("perm", [0, 3, 1, 2])])
            layout = .nchw
        }

        mutating func toNHWC(_ name: String) {
            guard layout == .nchw else { return }
            current = graph.node("Transpose", [current], name: name, attributes: [ONNXGraph.ints("perm", [0, 2, 3, 1])])
            layout = .nhwc
        }

        /// ONNX pads `[top, left, bottom, right]` for a window layer: "same" puts the odd extra row or
        /// column after, as TensorFlow (and `WindowGeometry`) do, which ONNX's `auto_pad` cannot promise.
        static func window(_ input: TensorShape, size: (Int, Int), strides: (Int, Int), padding: Padding) throws -> [Onnx_AttributeProto] {
            let g = try WindowGeometry(input: input, window: size, strides: strides, padding: padding)
            let totalHeight = max((g.outHeight - 1) * g.strideHeight + g.windowHeight - g.height, 0)
            let totalWidth = max((g.outWidth - 1) * g.strideWidth + g.windowWidth - g.width, 0)
            let pads = padding == .same ? [g.padTop, g.padLeft, totalHeight - g.padTop, totalWidth - g.padLeft] : [0, 0, 0, 0]
            return [ONNXGraph.ints("kernel_shape", [size.0, size.1]), ONNXGraph.ints("strides", [strides.0, strides.1]),
                    ONNXGraph.ints("pads", pads)]
        }

        mutating func add(_ layer: any Layer, name: String) throws {
            switch layer {
            case let conv as Conv2D:
                toNCHW(name)
                let (shape, hwio) = try tensor("\(name).kernel")
                let (kh, kw, inputs, outputs) = (shape[0], shape[1], shape[2], shape[3])
                var oihw = [Float](repeating: 0, count: hwio.count)
                for a in 0..<kh { for b in 0..<kw { for i in 0..<inputs { for o in 0..<outputs {
                    oihw[((o * inputs + i) * kh + a) * kw + b] = hwio[((a * kw + b) * inputs + i) * outputs + o]
                } } } }
                var inputsOfNode = [current, graph.constant("\(name).kernel", dims: [outputs, inputs, kh, kw], values: oihw)]
                if conv.useBias { inputsOfNode.append(try stored("\(name).bias")) }
                let attributes = try Self.window(conv.inputShape, size: conv.kernelSize, strides: conv.strides, padding: conv.padding)
                current = graph.node("Conv", inputsOfNode, name: name, attributes: attributes + [ONNXGraph.ints("dilations", [1, 1])])
                try activate(conv.activation, name: name)
            case let dense as Dense:
                guard layout == .flat else { throw ExportError("dense needs a flat input") }
                let kernel = try stored("\(name).kernel")
                if dense.useBias {
                    current = graph.node("Gemm", [current, kernel, try stored("\(name).bias")], name: name)
                } else {
                    current = graph.node("MatMul", [current, kernel], name: name)
                }
                try activate(dense.activation, name: name)
            case let pool as MaxPool2D:
                toNCHW(name)
                current = graph.node("MaxPool", [current], name: name, attributes: try Self.window(
                    pool.inputShape, size: pool.window.size, strides: pool.window.strides ?? pool.window.size, padding: pool.window.padding))
            case let pool as AvgPool2D:
                toNCHW(name)
                // count_include_pad = 0: a window over the padding averages only the cells inside the image, as Keras does.
                current = graph.node("AveragePool", [current], name: name, attributes: try Self.window(
                    pool.inputShape, size: pool.window.size, strides: pool.window.strides ?? pool.window.size, padding: pool.window.padding)
                    + [ONNXGraph.int("count_include_pad", 0)])
            case is GlobalAvgPool2D, is GlobalMaxPool2D:
                toNCHW(name)
                current = graph.node(layer is GlobalAvgPool2D ? "GlobalAveragePool" : "GlobalMaxPool", [current], name: name)
                current = graph.node("Flatten", [current], name: name, attributes: [ONNXGraph.int("axis", 1)])
                layout = .flat
            case is Flatten:
                guard layout != .flat else { return }
                toNHWC(name)
                current = graph.node("Flatten", [current], name: name, attributes: [ONNXGraph.int("axis", 1)])
                layout = .flat
            case is Dropout:
                return
            case let norm as BatchNorm:
                toNCHW(name)   // ONNX normalises axis 1; a flat [N, units] input already has its channels there
                let channels = norm.inputShape.dimensions.last!
                let scale = norm.scale ? try stored("\(name).gamma")
                    : graph.constant("\(name).ones", dims: [channels], values: [Float](repeating: 1, count: channels))
                let bias = norm.center ? try stored("\(name).beta")
                    : graph.constant("\(name).zeros", dims: [channels], values: [Float](repeating: 0, count: channels))
                current = graph.node("BatchNormalization",
                                     [current, scale, bias, try stored("\(name).moving_mean"), try stored("\(name).moving_variance")],
                                     name: name, attributes: [ONNXGraph.float("epsilon", norm.epsilon)])
            case let activation as ActivationLayer:
                try activate(activation.activation, name: name)
            default:
                throw ExportError("layer type \(layer.typeName) has no ONNX mapping")
            }
        }

        /// The activation on the current value; softmax runs along the channels (axis 1 in NCHW, else the last).
        mutating func activate(_ activation: Activation, name: String) throws {
            let x = current
            switch activation {
            case .linear: return
            case .relu: current = graph.node("Relu", [x], name: name)
            case .sigmoid: current = graph.node("Sigmoid", [x], name: name)
            case .tanh: current = graph.node("Tanh", [x], name: name)
            case .softplus: current = graph.node("Softplus", [x], name: name)
            case .softmax:
                current = graph.node("Softmax", [x], name: name, attributes: [ONNXGraph.int("axis", layout == .nchw ? 1 : -1)])
            case .elu: current = graph.node("Elu", [x], name: name, attributes: [ONNXGraph.float("alpha", 1)])
            case .selu:
                current = graph.node("Selu", [x], name: name, attributes: [ONNXGraph.float("alpha", 1.6732632423543772),
                                                                           ONNXGraph.float("gamma", 1.0507009873554805)])
            case .leakyRelu: current = graph.node("LeakyRelu", [x], name: name, attributes: [ONNXGraph.float("alpha", 0.2)])
            case .silu:
                let s = graph.node("Sigmoid", [x], name: name)
                current = graph.node("Mul", [x, s], name: name)
            case .gelu:
                // Gelu is an operator only from opset 20: x / 2 * (1 + erf(x / sqrt 2)), the exact form Keras uses.
                let sqrt2 = graph.constant(graph.fresh("\(name)/sqrt2"), dims: [], values: [1.4142135623730951])
                let one = graph.constant(graph.fresh("\(name)/one"), dims: [], values: [1])
                let half = graph.constant(graph.fresh("\(name)/half"), dims: [], values: [0.5])
                let erf = graph.node("Erf", [graph.node("Div", [x, sqrt2], name: name)], name: name)
                let halfX = graph.node("Mul", [x, half], name: name)
                current = graph.node("Mul", [halfX, graph.node("Add", [erf, one], name: name)], name: name)
            }
        }
    }
}
