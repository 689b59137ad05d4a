/// One named tensor inside a flat parameter (or gradient, or optimizer-state) buffer.
public struct ParameterView: Equatable, Sendable {
    /// Keras-style name, e.g. `conv2d_1.kernel`.
    public let name: String
    /// Keras layout: conv kernel `[kh, kw, in, out]`, dense kernel `[in, out]`, bias `[out]`.
    public let shape: [Int]
    /// Offset of the first element in the flat buffer.
    public let offset: Int
    public var count: Int { shape.reduce(1, *) }
    public var range: Range<Int> { offset..<(offset + count) }
}

/// Where each named tensor lives in one contiguous Float buffer.
///
/// Parameters, gradients and every optimizer state share this layout, so allreduce, broadcast,
/// the optimizer and checkpoints each touch exactly one buffer, and named views recover the tensors.
public struct ParameterLayout: Equatable, Sendable {
    public private(set) var views: [ParameterView] = []
    public private(set) var count: Int = 0

    public init() {}

    @discardableResult
    public mutating func append(name: String, shape: [Int]) -> ParameterView {
        let view = ParameterView(name: name, shape: shape, offset: count)
        views.append(view)
        count += view.count
        return view
    }

    public func view(named name: String) -> ParameterView? { views.first { $0.name == name } }
}
