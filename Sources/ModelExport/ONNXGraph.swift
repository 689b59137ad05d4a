import Foundation

/// A graph under construction: nodes in order, float initializers, and fresh value names.
/// Only the small part of ONNX the exporter needs, so `ONNXExport` reads as the layer mapping alone.
struct ONNXGraph {
    private(set) var nodes: [Onnx_NodeProto] = []
    private(set) var initializers: [Onnx_TensorProto] = []
    private var counter = 0

    /// A value name not used before, e.g. `conv2d_1/Conv_3`.
    mutating func fresh(_ stem: String) -> String {
        counter += 1
        return "\(stem)_\(counter)"
    }

    /// Adds a float initializer (stored as little-endian `raw_data`) and returns its name.
    @discardableResult
    mutating func constant(_ name: String, dims: [Int], values: [Float]) -> String {
        precondition(dims.reduce(1, *) == values.count, "initializer \(name): \(values.count) values for dims \(dims)")
        var tensor = Onnx_TensorProto()
        tensor.name = name
        tensor.dims = dims.map(Int64.init)
        tensor.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        var raw = Data(capacity: values.count * 4)
        for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { raw.append(contentsOf: $0) } }
        tensor.rawData = raw
        initializers.append(tensor)
        return name
    }

    /// Adds an int64 initializer (the shape-like inputs of `Pad` and `Slice`) and returns its name.
    @discardableResult
    mutating func int64Constant(_ name: String, values: [Int]) -> String {
        var tensor = Onnx_TensorProto()
        tensor.name = name
        tensor.dims = [Int64(values.count)]
        tensor.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
        tensor.int64Data = values.map(Int64.init)
        initializers.append(tensor)
        return name
    }

    /// Appends a node and returns the name of its (single) output: `output`, or else the node's own name.
    mutating func node(_ opType: String, _ inputs: [String], name: String, attributes: [Onnx_AttributeProto] = [],
                       output: String? = nil) -> String {
        var node = Onnx_NodeProto()
        node.opType = opType
        node.name = fresh("\(name)/\(opType)")
        node.input = inputs
        node.output = [output ?? node.name]
        node.attribute = attributes
        nodes.append(node)
        return node.output[0]
    }

    static func ints(_ name: String, _ values: [Int]) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .ints
        attribute.ints = values.map(Int64.init)
        return attribute
    }

    static func int(_ name: String, _ value: Int) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .int
        attribute.i = Int64(value)
        return attribute
    }

    static func float(_ name: String, _ value: Float) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .float
        attribute.f = value
        return attribute
    }

    static func string(_ name: String, _ value: String) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .string
        attribute.s = Data(value.utf8)
        return attribute
    }

    /// A float tensor value with the given dimensions; `nil` is a symbolic dimension named `batch`.
    static func floatValue(_ name: String, dims: [Int?]) -> Onnx_ValueInfoProto {
        var shape = Onnx_TensorShapeProto()
        shape.dim = dims.map { size in
            var dimension = Onnx_TensorShapeProto.Dimension()
            if let size { dimension.dimValue = Int64(size) } else { dimension.dimParam = "N" }
            return dimension
        }
        var tensorType = Onnx_TypeProto.Tensor()
        tensorType.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        tensorType.shape = shape
        var type = Onnx_TypeProto()
        type.tensorType = tensorType
        var value = Onnx_ValueInfoProto()
        value.name = name
        value.type = type
        return value
    }
}
