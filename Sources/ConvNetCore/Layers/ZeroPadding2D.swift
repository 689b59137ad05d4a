/// Zero padding (Keras `ZeroPadding2D`): rows of zeros above and below, columns left and right.
///
/// Config (`type = "zero_padding2d"`): `padding` (1): `p` (all sides), `[h, w]` (h rows above and
/// below, w columns left and right) or `[[top, bottom], [left, right]]`, as Keras.
/// Shapes: `x[n, h, w, c]` -> `y[n, top + h + bottom, left + w + right, c]`; no parameters.
///
///     y[n, top + a, left + b, :] = x[n, a, b, :], zero elsewhere
///     dx[n, a, b, :] = dy[n, top + a, left + b, :]
public struct ZeroPadding2D: Layer {
    public static let typeName = "zero_padding2d"
    public static let kerasClassName = "ZeroPadding2D"

    /// ((top, bottom), (left, right)).
    public let padding: ((Int, Int), (Int, Int))
    public private(set) var inputShape = TensorShape([])

    public init(padding: ((Int, Int), (Int, Int)) = ((1, 1), (1, 1))) { self.padding = padding }
    public init(config: ConfigTable) throws {
        guard let value = config.value("padding") else { self.init(); return }
        let message = DescriptionError("\(config.key("padding")) must be an integer, [height, width] or [[top, bottom], [left, right]] of integers from 0 to 4096, got \(value.text)")
        func amount(_ value: ConfigValue) throws -> Int {
            guard case let .int(i) = value, (0...4096).contains(i) else { throw message }
            return i
        }
        func side(_ value: ConfigValue) throws -> (Int, Int) {
            if case let .array(items) = value {
                guard items.count == 2 else { throw message }
                return (try amount(items[0]), try amount(items[1]))
            }
            let i = try amount(value)
            return (i, i)
        }
        switch value {
        case .int: self.init(padding: (try side(value), try side(value)))
        case let .array(items) where items.count == 2: self.init(padding: (try side(items[0]), try side(items[1])))
        default: throw message
        }
    }
    /// The shortest form that reads back the same: `p`, `[h, w]` or `[[top, bottom], [left, right]]`.
    public var config: [ConfigEntry] {
        let ((top, bottom), (left, right)) = padding
        let value: ConfigValue
        if top == bottom && left == right {
            value = .pair((top, left))
        } else {
            value = .array([.array([.int(top), .int(bottom)]), .array([.int(left), .int(right)])])
        }
        return [ConfigEntry("padding", value)]
    }
    public func bound(to inputShape: TensorShape) throws -> ZeroPadding2D {
        try inputShape.requireImage(Self.typeName)
        var layer = self
        layer.inputShape = inputShape
        return layer
    }

    private var copy: PixelCopy {
        let d = inputShape.dimensions
        return PixelCopy(image: inputShape, output: (padding.0.0 + d[0] + padding.0.1, padding.1.0 + d[1] + padding.1.1))
    }
    public var outputShape: TensorShape { TensorShape([copy.output.height, copy.output.width, inputShape.dimensions[2]]) }

    private func source(_ sample: Int) -> PixelCopy.Source {
        let (h, w) = (inputShape.dimensions[0], inputShape.dimensions[1]), (top, left) = (padding.0.0, padding.1.0)
        return { i, j in
            let (row, column) = (i - top, j - left)
            return row >= 0 && row < h && column >= 0 && column < w ? (row, column) : nil
        }
    }

    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                        parameters: UnsafePointer<Float>, memory: LayerMemory, context: PassContext) {
        copy.forward(x, y, batch: batch, fill: 0, source: source)
    }

    public func backward(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                         dx: UnsafeMutablePointer<Float>?, batch: Int,
                         parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Double>,
                         memory: LayerMemory, context: PassContext) {
        guard let dx else { return }
        copy.backward(dy, dx, batch: batch, source: source)
    }
}
