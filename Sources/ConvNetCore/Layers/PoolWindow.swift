/// The keys pooling layers share, as Keras names them: `pool_size` (2; k or [ph, pw]), `strides`
/// (default: the pool size), `padding` (`"valid"` | `"same"`).
public struct PoolWindow: Equatable, Sendable {
    public var size: (Int, Int)
    public var strides: (Int, Int)?
    public var padding: Padding

    public init(size: (Int, Int), strides: (Int, Int)? = nil, padding: Padding = .valid) {
        self.size = size
        self.strides = strides
        self.padding = padding
    }

    public init(config: ConfigTable) throws {
        self.init(size: try config.intOrPair("pool_size", min: 1) ?? (2, 2), strides: try config.intOrPair("strides", min: 1),
                  padding: Padding(rawValue: try config.choice("padding", Padding.allCases.map(\.rawValue)) ?? "valid")!)
    }

    public var config: [ConfigEntry] {
        [ConfigEntry("pool_size", .pair(size))]
            + (strides.map { [ConfigEntry("strides", .pair($0))] } ?? [])
            + (padding == .valid ? [] : [ConfigEntry("padding", .string(padding.rawValue))])
    }

    public static func == (a: PoolWindow, b: PoolWindow) -> Bool {
        a.size == b.size && a.strides.map { [$0.0, $0.1] } == b.strides.map { [$0.0, $0.1] } && a.padding == b.padding
    }

    func geometry(for input: TensorShape, layer: String) throws -> WindowGeometry {
        try input.requireImage(layer)
        do {
            return try WindowGeometry(input: input, window: size, strides: strides ?? size, padding: padding)
        } catch let error as DescriptionError {
            throw DescriptionError("pool_size: \(error.description)")
        }
    }
}
