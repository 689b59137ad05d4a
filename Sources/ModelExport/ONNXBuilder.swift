import ConvNetCore
import Foundation

extension ONNXExport {
    /// The current value's memory layout: `nhwc` and `nchw` for images, `flat` for `[N, units]`.
    enum Layout { case nhwc, nchw, flat }

    /// The graph of a model under construction, layer by layer: each layer's mapping reads the value
    /// `current` (in `layout`) and leaves its output there.
    struct Builder {
        let model: Sequential
        let parameters: [Float]
        let state: [Float]
        var graph = ONNXGraph()
        var current = ONNXExport.inputName
        var layout = Layout.nhwc
        /// A merging layer's inputs (a graph model's), each in its layout.
        var mergeSources: [(value: String, layout: Layout)] = []

        init(model: Sequential, parameters: [Float], state: [Float]) {
            self.model = model
            self.parameters = parameters
            self.state = state
        }

        /// A tensor of the checkpoint (a parameter or a state tensor) by its full name, `conv2d_1.kernel`.
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

        /// Transposes the current value to NCHW (ONNX's image layout) unless it is already.
        mutating func toNCHW(_ name: String) {
            guard layout == .nhwc else { return }
            current = graph.node("Transpose", [current], name: name, attributes: [ONNXGraph.ints("perm", [0, 3, 1, 2])])
            layout = .nchw
        }

        /// The merging layer's inputs, all in the first one's layout (the others transposed to it),
        /// which becomes the current layout.
        mutating func mergedInputs(_ name: String) -> [String] {
            let target = mergeSources.first?.layout ?? layout
            let values = mergeSources.map { source in
                current = source.value
                layout = source.layout
                if target == .nchw { toNCHW(name) } else if target == .nhwc { toNHWC(name) }
                return current
            }
            layout = target
            return values
        }

        /// Transposes the current value back to NHWC (Keras's) unless it is already.
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
