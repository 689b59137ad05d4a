/// Keras's `ModelCheckpoint` with the file fixed at `RUN_DIR/best.safetensors` (weights and
/// non-trainable state, as `model.safetensors`): with `save_best_only` (our default, since the file
/// is fixed) it writes the weights after an epoch whose `monitor` beats the best so far (and
/// `initial_value_threshold`, when given), else after every epoch.
///
/// State: `best` (nil until the first save).
public struct ModelCheckpoint: Callback {
    public static let name = "model_checkpoint"
    public static let fileName = "best.safetensors"
    public var monitor: Monitor
    public var saveBestOnly: Bool
    public var initialValueThreshold: Double?
    public var best: Double?

    public init(config: ConfigTable) throws {
        monitor = try Monitor(config: config, minDelta: 0)
        saveBestOnly = try config.bool("save_best_only") ?? true
        initialValueThreshold = try config.number("initial_value_threshold")
        if let threshold = initialValueThreshold, !threshold.isFinite {
            throw DescriptionError("\(config.key("initial_value_threshold")) must be a finite number, got \(threshold)")
        }
        best = initialValueThreshold
    }

    public var config: [ConfigEntry] {
        monitor.config + (saveBestOnly ? [] : [ConfigEntry("save_best_only", .bool(false))])
            + (initialValueThreshold.map { [ConfigEntry("initial_value_threshold", .number($0))] } ?? [])
    }

    public static let countsInState: [Int] = []
    public var state: [Double] {
        get { [best.stateValue] }
        set { best = Double?(stateValue: newValue[0]) }
    }

    public mutating func epochEnded(_ epoch: Int, value: Double, actions: inout CallbackActions) {
        guard saveBestOnly else { actions.save = true; return }
        if monitor.isImprovement(value, over: best) {
            best = value
            actions.save = true
        }
    }
}
