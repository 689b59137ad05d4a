#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Keras's `ExponentialDecay`: `lr0 * decay_rate ^ (step / decay_steps)`, with the floor of the
/// ratio when `staircase`.
public struct ExponentialDecay: LearningRateSchedule {
    public static let name = "exponential_decay"
    public var decaySteps: Int
    public var decayRate: Float
    public var staircase = false

    public init(decaySteps: Int, decayRate: Float, staircase: Bool = false) {
        self.decaySteps = decaySteps
        self.decayRate = decayRate
        self.staircase = staircase
    }

    public init(config: ConfigTable) throws {
        decaySteps = try config.required("decay_steps") { try config.int($0, min: 1) }
        decayRate = try config.required("decay_rate") { try config.float($0, in: 0...1e6, openLower: true) }
        staircase = try config.bool("staircase") ?? false
    }

    public var config: [ConfigEntry] {
        [ConfigEntry("decay_steps", .int(decaySteps)), ConfigEntry("decay_rate", .float(decayRate))]
            + (staircase ? [ConfigEntry("staircase", .bool(true))] : [])
    }

    public func learningRate(initial: Float, iterations: Int) -> Float {
        var p = Float(iterations) / Float(decaySteps)
        if staircase { p = p.rounded(.down) }
        return initial * powf(decayRate, p)
    }
}
