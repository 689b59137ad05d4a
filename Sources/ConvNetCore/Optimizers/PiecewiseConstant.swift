/// Keras's `PiecewiseConstantDecay`: `values[i]` for `boundaries[i-1] < step <= boundaries[i]`.
public struct PiecewiseConstant: LearningRateSchedule {
    public static let name = "piecewise_constant"
    public var boundaries: [Int]
    public var values: [Float]

    public init(boundaries: [Int], values: [Float]) {
        self.boundaries = boundaries
        self.values = values
    }

    public init(config: ConfigTable) throws {
        let boundaries = try config.required("boundaries", config.numbers)
        let values = try config.required("values", config.numbers)
        guard boundaries.allSatisfy({ $0 == $0.rounded() && $0 >= 0 && $0 <= 1e15 }),
              zip(boundaries, boundaries.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw DescriptionError("\(config.key("boundaries")) must be increasing whole step numbers (at most 1e15)")
        }
        guard values.count == boundaries.count + 1, values.allSatisfy({ Float($0) > 0 && Float($0).isFinite }) else {
            throw DescriptionError("\(config.key("values")) must hold one positive rate more than boundaries (\(boundaries.count + 1)), each a finite Float")
        }
        self.init(boundaries: boundaries.map { Int($0) }, values: values.map { Float($0) })
    }

    public var config: [ConfigEntry] {
        [ConfigEntry("boundaries", .array(boundaries.map { .int($0) })), ConfigEntry("values", .array(values.map { .float($0) }))]
    }

    public func learningRate(initial: Float, iterations: Int) -> Float {
        for (i, boundary) in boundaries.enumerated() where iterations <= boundary { return values[i] }
        return values[values.count - 1]
    }
}
