/// Keras's `ReduceLROnPlateau`: when `monitor` has not improved by more than `min_delta` for
/// `patience` epochs, multiplies the learning rate by `factor` (never below `min_lr`, and not at all
/// once the rate is at `min_lr`), then waits `cooldown` epochs before counting again.
///
/// The rate, as Keras computes it: `new = Float(max(Double(old) * factor, min_lr))` when
/// `old > Float(min_lr)`. Without a schedule `rate` is the optimizer's rate itself. With
/// `[optimizer.schedule]` (where Keras refuses to set a rate) `rate` is a multiplier starting at 1
/// that the same formula lowers (its floor taken as 0), and the step uses
/// `max(schedule(step) * rate, Float(min_lr))` once it has been lowered (see `effectiveRate`).
///
/// State: `best`, `wait`, `cooldown_counter` and `rate` (NaN until it is first lowered).
public struct ReduceLROnPlateau: Callback {
    public static let name = "reduce_lr_on_plateau"
    public var monitor: Monitor
    public var factor: Double
    public var patience: Int
    public var cooldown: Int
    public var minLR: Double

    public var best: Double?
    public var wait = 0
    public var cooldownCounter = 0
    /// Nil until the first reduction: the rate (or multiplier, with a schedule) it set last.
    public var rate: Float?
    /// Set by the trainer before each epoch's end: whether a schedule drives the rate.
    public var scheduled = false
    /// Set by the trainer before each epoch's end: the rate the last step used.
    public var currentRate: Float = 0

    public init(config: ConfigTable) throws {
        monitor = try Monitor(config: config, minDelta: try config.number("min_delta") ?? 1e-4)
        guard monitor.minDelta.isFinite else { throw DescriptionError("\(config.key("min_delta")) must be a finite number") }
        factor = try config.number("factor") ?? 0.1
        guard factor > 0 && factor < 1 else { throw DescriptionError("\(config.key("factor")) must be above 0 and below 1 (Keras refuses factor >= 1), got \(factor)") }
        patience = try config.int("patience", min: 0) ?? 10
        cooldown = try config.int("cooldown", min: 0) ?? 0
        minLR = try config.number("min_lr") ?? 0
        guard minLR >= 0 && minLR.isFinite else { throw DescriptionError("\(config.key("min_lr")) must be a finite number at least 0, got \(minLR)") }
    }

    public var config: [ConfigEntry] {
        monitor.config + [ConfigEntry("factor", .number(factor)), ConfigEntry("patience", .int(patience))]
            + (monitor.minDelta == 1e-4 ? [] : [ConfigEntry("min_delta", .number(monitor.minDelta))])
            + (cooldown == 0 ? [] : [ConfigEntry("cooldown", .int(cooldown))])
            + (minLR == 0 ? [] : [ConfigEntry("min_lr", .number(minLR))])
    }

    public static let countsInState = [1, 2]
    public var state: [Double] {
        get { [best.stateValue, Double(wait), Double(cooldownCounter), rate.map(Double.init) ?? .nan] }
        set {
            best = Double?(stateValue: newValue[0])
            (wait, cooldownCounter) = (Int(newValue[1]), Int(newValue[2]))
            rate = newValue[3].isNaN ? nil : Float(newValue[3])
        }
    }

    public var inCooldown: Bool { cooldownCounter > 0 }

    /// The rate a step uses, given the optimizer's own (`scheduledRate`: the schedule's, or the
    /// configured rate without one).
    public func effectiveRate(_ scheduledRate: Float) -> Float {
        guard let rate else { return scheduledRate }
        return scheduled ? max(scheduledRate * rate, Float(minLR)) : rate
    }

    public mutating func epochEnded(_ epoch: Int, value: Double, actions: inout CallbackActions) {
        if inCooldown { cooldownCounter -= 1; wait = 0 }
        if monitor.isImprovement(value, over: best) {
            (best, wait) = (value, 0)
        } else if !inCooldown {
            wait += 1
            if wait >= patience && lower() {
                (cooldownCounter, wait, actions.lowerRate) = (cooldown, 0, true)
            }
        }
    }

    /// Keras's `_reduce_optimizer_lr`; false when the rate is already at `min_lr`.
    private mutating func lower() -> Bool {
        let old = currentRate
        guard old > Float(minLR) else { return false }
        if scheduled {
            rate = Float(Double(rate ?? 1) * factor)
        } else {
            rate = Float(max(Double(old) * factor, minLR))
        }
        return true
    }
}
