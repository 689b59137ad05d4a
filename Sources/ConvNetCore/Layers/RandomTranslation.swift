/// Random translations (Keras `RandomTranslation`) by whole pixels: in training, each sample is
/// shifted down by `dh` rows and right by `dw` columns, and what comes from outside the image is
/// filled by `fill_mode`; at inference the layer is the identity.
///
/// Config (`type = "random_translation"`): `height_factor`, `width_factor` (required; `f` for
/// [-f, f] or `[lower, upper]`, within [-1, 1], fractions of the height and width), `fill_mode`
/// (`"reflect"`, Keras's default; `"wrap"`, `"constant"`, `"nearest"`), `fill_value` (0, for
/// `"constant"`), `interpolation` (`"nearest"` only, and the default here: shifts are whole pixels;
/// Keras's default `"bilinear"` is refused). Shapes: `x[n, h, w, c]` -> `y[n, h, w, c]`; no parameters.
///
///     u0, u1 = CounterRandom(seed, randomTranslation, step, sample id of n, layer).unitFloat(0, 1)
///     dh(n) = round((lower_h + u0 * (upper_h - lower_h)) * h), dw(n) likewise with u1 and w
///     y[n, i, j, :] = x[n, fill(i - dh, h), fill(j - dw, w), :]   (`FillMode`; constant: fill_value)
///     dx: dy scattered back to the source pixels (sums where reflect, wrap or nearest repeat one)
///
/// This is Keras's transform (TensorFlow's `ImageProjectiveTransformV3`, nearest) for a translation
/// of (dh, dw) pixels. Keras draws real translations from its generator; here the draw is the dropout
/// rule's, so any split of the batch, and a resumed run, shift the same samples the same way.
public struct RandomTranslation: ShapeKeepingImageLayer {
    public static let typeName = "random_translation"
    public static let kerasClassName = "RandomTranslation"

    public let heightFactor: (lower: Float, upper: Float)
    public let widthFactor: (lower: Float, upper: Float)
    public let fillMode: FillMode
    public let fillValue: Float
    public var inputShape = TensorShape([])

    public init(heightFactor: (Float, Float), widthFactor: (Float, Float), fillMode: FillMode = .reflect, fillValue: Float = 0) {
        self.heightFactor = (min(heightFactor.0, heightFactor.1), max(heightFactor.0, heightFactor.1))
        self.widthFactor = (min(widthFactor.0, widthFactor.1), max(widthFactor.0, widthFactor.1))
        self.fillMode = fillMode
        self.fillValue = fillValue
    }
    public init(config: ConfigTable) throws {
        func factor(_ name: String) throws -> (Float, Float) {
            guard let value = config.value(name) else { throw DescriptionError("missing key \(config.key(name))") }
            let message = DescriptionError("\(config.key(name)) must be a number f (for [-f, f]) or a pair [lower, upper], within [-1, 1], got \(value.text)")
            func number(_ value: ConfigValue) throws -> Float {
                switch value {
                case let .number(d) where (-1...1).contains(d): return Float(d)
                case let .int(i) where (-1...1).contains(i): return Float(i)
                default: throw message
                }
            }
            if case let .array(items) = value {
                guard items.count == 2 else { throw message }
                return (try number(items[0]), try number(items[1]))
            }
            let f = abs(try number(value))
            return (-f, f)
        }
        let interpolation = try config.string("interpolation") ?? "nearest"
        guard interpolation == "nearest" else {
            throw DescriptionError("\(config.key("interpolation")): \"\(interpolation)\" is not supported (random_translation shifts by whole pixels); use \"nearest\"")
        }
        let finite = -Double(Float.greatestFiniteMagnitude)...Double(Float.greatestFiniteMagnitude)
        self.init(heightFactor: try factor("height_factor"), widthFactor: try factor("width_factor"),
                  fillMode: FillMode(rawValue: try config.choice("fill_mode", FillMode.allCases.map(\.rawValue)) ?? "reflect")!,
                  fillValue: try config.float("fill_value", in: finite) ?? 0)
    }
    public var config: [ConfigEntry] {
        func factor(_ f: (lower: Float, upper: Float)) -> ConfigValue {
            f.lower == -f.upper ? .float(f.upper) : .array([.float(f.lower), .float(f.upper)])
        }
        return [ConfigEntry("height_factor", factor(heightFactor)), ConfigEntry("width_factor", factor(widthFactor)),
                ConfigEntry("fill_mode", .string(fillMode.rawValue)), ConfigEntry("fill_value", .float(fillValue)),
                ConfigEntry("interpolation", .string("nearest"))]
    }

    /// The shift (rows down, columns right) of sample `n` of a training call.
    public func shift(_ n: Int, context: PassContext) -> (rows: Int, columns: Int) {
        let stream = CounterRandom(seed: context.seed, purpose: .randomTranslation, step: context.globalStep,
                                   sample: context.sampleIDs[n], layer: context.layerIndex)
        func draw(_ element: Int, _ f: (lower: Float, upper: Float), _ size: Int) -> Int {
            Int(((f.lower + stream.unitFloat(element) * (f.upper - f.lower)) * Float(size)).rounded())
        }
        return (draw(0, heightFactor, inputShape.dimensions[0]), draw(1, widthFactor, inputShape.dimensions[1]))
    }

    /// The pixel map of a shift by (rows, columns).
    public func source(rows: Int, columns: Int) -> (_ i: Int, _ j: Int) -> (row: Int, column: Int)? {
        let (h, w, mode) = (inputShape.dimensions[0], inputShape.dimensions[1], fillMode)
        return { i, j in
            guard let row = mode.source(i - rows, size: h), let column = mode.source(j - columns, size: w) else { return nil }
            return (row, column)
        }
    }

    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                        parameters: UnsafePointer<Float>, memory: LayerMemory, context: PassContext) {
        guard context.training else { return y.update(from: x, count: batch * inputShape.count) }
        copy.forward(x, y, batch: batch, fill: fillValue) { n in
            let (rows, columns) = shift(n, context: context)
            return source(rows: rows, columns: columns)
        }
    }

    public func backward(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                         dx: UnsafeMutablePointer<Float>?, batch: Int,
                         parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Double>,
                         memory: LayerMemory, context: PassContext) {
        guard let dx else { return }
        guard context.training else { return dx.update(from: dy, count: batch * inputShape.count) }
        copy.backward(dy, dx, batch: batch) { n in
            let (rows, columns) = shift(n, context: context)
            return source(rows: rows, columns: columns)
        }
    }
}
