import KindRegistry

/// A learning rate that changes with the step, as Keras's `LearningRateSchedule`s compute it (in
/// Float): a function of the optimizer's `iterations` alone (steps already applied, from 0), so a
/// resumed run uses the same rates as a straight one.
///
/// Config: `[optimizer.schedule]` with `name` and Keras's argument names; the optimizer's
/// `learning_rate` is the initial learning rate. A kind is one type in one file and one line in
/// `ScheduleRegistry.kinds`.
public protocol LearningRateSchedule: Sendable {
    /// Keras's name in snake case, e.g. `cosine_decay`.
    static var name: String { get }
    init(config: ConfigTable) throws
    /// The keys `init(config:)` reads back to an equal schedule (without `name`).
    var config: [ConfigEntry] { get }
    /// The learning rate for the step after `iterations` steps, starting from `initial`.
    func learningRate(initial: Float, iterations: Int) -> Float
}

extension LearningRateSchedule {
    /// `init(config:)` as an existential (see `Layer.described(by:)`).
    static func described(by config: ConfigTable) throws -> any LearningRateSchedule { try Self(config: config) }
    public var name: String { Self.name }
}

/// Every schedule a config can name; adding one is one file and one line here.
public enum ScheduleRegistry {
    public static let kinds: [any LearningRateSchedule.Type] = [
        ExponentialDecay.self,
        CosineDecay.self,
        PiecewiseConstant.self,
    ]

    static let registry = Registry("schedule", kinds, name: { $0.name })

    /// The schedule an `[optimizer.schedule]` table describes; unknown keys are errors.
    public static func schedule(from config: ConfigTable) throws -> any LearningRateSchedule {
        let schedule = try registry.kind(in: config).described(by: config)
        try config.finish()
        return schedule
    }

    /// The table `schedule(from:)` reads back to an equal schedule: `name` first.
    public static func config(of schedule: any LearningRateSchedule) -> [ConfigEntry] { registry.config(name: schedule.name, schedule.config) }

    public static func equal(_ a: (any LearningRateSchedule)?, _ b: (any LearningRateSchedule)?) -> Bool {
        a.map(config(of:)) == b.map(config(of:))
    }
}
