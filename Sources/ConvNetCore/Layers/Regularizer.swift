/// Keras's `kernel_regularizer` (L1L2): adds `l1 * sum |w| + l2 * sum w^2` to the loss, so its
/// gradient `l1 * sign(w) + 2 * l2 * w` joins the mean data gradient before the optimizer step.
/// Config: `kernel_regularizer = { l2 = 0.0001 }` (or `l1`, or both).
public struct Regularizer: Equatable, Sendable {
    public var l1: Float
    public var l2: Float

    public init(l1: Float = 0, l2: Float = 0) {
        self.l1 = l1
        self.l2 = l2
    }

    /// Reads `name` from a layer's table; nil when absent.
    public static func read(_ name: String, from config: ConfigTable) throws -> Regularizer? {
        guard let table = try config.table(name) else { return nil }
        let l1 = try table.float("l1", in: 0...1e6) ?? 0, l2 = try table.float("l2", in: 0...1e6) ?? 0
        try table.finish()
        return Regularizer(l1: l1, l2: l2)
    }

    public var configValue: ConfigValue {
        .table((l1 != 0 ? [ConfigEntry("l1", .float(l1))] : []) + (l2 != 0 || l1 == 0 ? [ConfigEntry("l2", .float(l2))] : []))
    }

    /// The penalty of `count` weights, in Double.
    public func penalty(_ w: UnsafePointer<Float>, count: Int) -> Double {
        var absolute = 0.0, squares = 0.0
        for i in 0..<count {
            absolute += Double(abs(w[i]))
            squares += Double(w[i]) * Double(w[i])
        }
        return Double(l1) * absolute + Double(l2) * squares
    }

    /// `gradient += l1 * sign(w) + 2 * l2 * w`.
    public func addGradient(_ w: UnsafePointer<Float>, count: Int, to gradient: UnsafeMutablePointer<Float>) {
        for i in 0..<count {
            let sign: Float = w[i] > 0 ? 1 : (w[i] < 0 ? -1 : 0)
            gradient[i] += l1 * sign + 2 * l2 * w[i]
        }
    }
}
