#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Keras's `CosineDecay`. Without `warmup_target`: `lr0 * ((1 - alpha) * c + alpha)` with
/// `c = (1 + cos(pi * min(step, decay_steps) / decay_steps)) / 2`. With `warmup_target`: linear from
/// lr0 to warmup_target over `warmup_steps`, then the same decay from warmup_target.
public struct CosineDecay: LearningRateSchedule {
    public static let name = "cosine_decay"
    public var decaySteps: Int
    public var alpha: Float = 0
    public var warmupTarget: Float?
    public var warmupSteps = 0

    public init(decaySteps: Int, alpha: Float = 0, warmupTarget: Float? = nil, warmupSteps: Int = 0) {
        self.decaySteps = decaySteps
        self.alpha = alpha
        self.warmupTarget = warmupTarget
        self.warmupSteps = warmupSteps
    }

    public init(config: ConfigTable) throws {
        decaySteps = try config.required("decay_steps") { try config.int($0, min: 1) }
        alpha = try config.float("alpha", in: 0...1) ?? 0
        warmupTarget = try config.float("warmup_target", in: 0...1e6, openLower: true)
        warmupSteps = try config.int("warmup_steps", min: 0) ?? 0
    }

    public var config: [ConfigEntry] {
        [ConfigEntry("decay_steps", .int(decaySteps)), ConfigEntry("alpha", .float(alpha))]
            + (warmupTarget.map { [ConfigEntry("warmup_target", .float($0)), ConfigEntry("warmup_steps", .int(warmupSteps))] } ?? [])
    }

    public func learningRate(initial: Float, iterations: Int) -> Float {
        let step = Float(iterations), decay = Float(decaySteps)
        func decayed(_ step: Float, from lr: Float) -> Float {
            let cosine = 0.5 * (1 + cosf(Float.pi * (step / decay)))
            return lr * ((1 - alpha) * cosine + alpha)
        }
        guard let target = warmupTarget else { return decayed(min(step, decay), from: initial) }
        let warmup = Float(warmupSteps), clamped = min(step, decay + warmup)
        if clamped < warmup { return (target - initial) * (clamped / warmup) + initial }
        return decayed(clamped - warmup, from: target)
    }
}
