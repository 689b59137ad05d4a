/// Keras's `ModelCheckpoint` with `save_weights_only` implied: it writes the weights and the
/// non-trainable state, as `model.safetensors`, to `filepath` in the run folder (default
/// `best.safetensors`; see `CheckpointFilePath` for `{epoch:02d}`-style names). With
/// `save_best_only` (our default, since the default name is fixed) it saves when `monitor` beats
/// the best so far (and `initial_value_threshold`, when given), else at every save point.
///
/// Save points are Keras's `save_freq`: after every epoch (`"epoch"`), or after every `N`th global
/// step, counted from the start of training (so a resumed run saves at the same steps); after a
/// step the figures are the epoch's running `loss` and `accuracy` (Keras's batch logs), so only
/// those may be monitored or named in `filepath` then, and `{batch}` only then.
///
/// State: `best` (nil until the first save).
public struct ModelCheckpoint: Callback {
    public static let name = "model_checkpoint"
    public static let fileName = "best.safetensors"
    /// Several may run side by side (e.g. one best-only, one per epoch), each with its own `filepath`.
    public static let allowsSeveral = true
    /// The figures known after a step.
    public static let stepFigures = ["loss", "accuracy"]
    public var monitor: Monitor
    public var saveBestOnly: Bool
    public var initialValueThreshold: Double?
    public var filePath: CheckpointFilePath
    /// Global steps between saves (Keras's integer `save_freq`); nil: after every epoch.
    public var saveEvery: Int?
    public var best: Double?

    public init(config: ConfigTable) throws {
        monitor = try Monitor(config: config, minDelta: 0)
        saveBestOnly = try config.bool("save_best_only") ?? true
        initialValueThreshold = try config.number("initial_value_threshold")
        if let threshold = initialValueThreshold, !threshold.isFinite {
            throw DescriptionError("\(config.key("initial_value_threshold")) must be a finite number, got \(threshold)")
        }
        best = initialValueThreshold
        filePath = try CheckpointFilePath(config.string("filepath") ?? Self.fileName, key: config.key("filepath"))
        switch config.value("save_freq") {
        case nil, .string("epoch")?: saveEvery = nil
        case let .int(steps)? where steps >= 1: saveEvery = steps
        case let value?: throw DescriptionError("\(config.key("save_freq")) must be \"epoch\" or a number of steps (at least 1), got \(value.text)")
        }
        if saveEvery != nil {
            if saveBestOnly && !Self.stepFigures.contains(monitor.figure) {
                throw DescriptionError("\(config.key("monitor")): \(monitor.figure) is known only after an epoch; with a step save_freq "
                                       + "monitor loss or accuracy (the epoch's running figures), or set save_best_only = false")
            }
            if let field = filePath.fields.first(where: { $0 != "epoch" && $0 != "batch" && !Self.stepFigures.contains($0) }) {
                throw DescriptionError("\(config.key("filepath")): {\(field)} is known only after an epoch; with a step save_freq name only epoch, batch, loss or accuracy")
            }
        } else if filePath.fields.contains("batch") {
            throw DescriptionError("\(config.key("filepath")): {batch} needs save_freq set to a number of steps")
        }
    }

    public var config: [ConfigEntry] {
        monitor.config + (saveBestOnly ? [] : [ConfigEntry("save_best_only", .bool(false))])
            + (initialValueThreshold.map { [ConfigEntry("initial_value_threshold", .number($0))] } ?? [])
            + (filePath.pattern == Self.fileName ? [] : [ConfigEntry("filepath", .string(filePath.pattern))])
            + (saveEvery.map { [ConfigEntry("save_freq", .int($0))] } ?? [])
    }

    /// The monitor when it decides, and the figures `filepath` names.
    public var figuresUsed: [(key: String, figure: String)] {
        (saveBestOnly ? [("monitor", monitor.figure)] : [])
            + filePath.fields.filter { Monitor.figures.contains($0) }.map { ("filepath", $0) }
    }

    public static let countsInState: [Int] = []
    public var state: [Double] {
        get { [best.stateValue] }
        set { best = Double?(stateValue: newValue[0]) }
    }

    public mutating func epochEnded(_ epoch: Int, value: Double, actions: inout CallbackActions) {
        guard saveEvery == nil else { return }
        if decides(value) { actions.save = true }
    }

    /// After global step `globalStep` (1-based), with the epoch's running figures by name: whether
    /// to save now (never without a step `save_freq`).
    public mutating func stepEnded(globalStep: Int, figures: [String: Double]) -> Bool {
        guard let saveEvery, globalStep % saveEvery == 0 else { return false }
        return decides(figures[monitor.figure] ?? .nan)
    }

    private mutating func decides(_ value: Double) -> Bool {
        guard saveBestOnly else { return true }
        guard monitor.isImprovement(value, over: best) else { return false }
        best = value
        return true
    }
}
