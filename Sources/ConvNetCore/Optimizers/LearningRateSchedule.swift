#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// A learning rate that changes with the step, as Keras's `LearningRateSchedule`s compute it (in
/// Float): a function of the optimizer's `iterations` alone (steps already applied, from 0), so a
/// resumed run uses the same rates as a straight one.
///
/// Config: `[optimizer.schedule]` with `name` and Keras's argument names; the optimizer's
/// `learning_rate` is the initial learning rate.
///
///     exponential_decay:  lr0 * decay_rate ^ (step / decay_steps)      (floor of the ratio with staircase)
///     cosine_decay:       with warmup_target unset: lr0 * ((1 - alpha) * c + alpha),
///                         c = (1 + cos(pi * min(step, decay_steps) / decay_steps)) / 2;
///                         with warmup_target: linear from lr0 to warmup_target over warmup_steps,
///                         then the same decay from warmup_target
///     piecewise_constant: values[i] for boundaries[i-1] < step <= boundaries[i]
public enum LearningRateSchedule: Equatable, Sendable {
    case exponentialDecay(decaySteps: Int, decayRate: Float, staircase: Bool)
    case cosineDecay(decaySteps: Int, alpha: Float, warmupTarget: Float?, warmupSteps: Int)
    case piecewiseConstant(boundaries: [Int], values: [Float])

    public static let names = ["exponential_decay", "cosine_decay", "piecewise_constant"]

    /// The learning rate for the step after `iterations` steps, starting from `initial`.
    public func learningRate(initial: Float, iterations: Int) -> Float {
        let step = Float(iterations)
        switch self {
        case let .exponentialDecay(decaySteps, decayRate, staircase):
            var p = step / Float(decaySteps)
            if staircase { p = p.rounded(.down) }
            return initial * powf(decayRate, p)
        case let .cosineDecay(decaySteps, alpha, warmupTarget, warmupSteps):
            let decay = Float(decaySteps)
            func decayed(_ step: Float, from lr: Float) -> Float {
                let cosine = 0.5 * (1 + cosf(Float.pi * (step / decay)))
                return lr * ((1 - alpha) * cosine + alpha)
            }
            guard let target = warmupTarget else { return decayed(min(step, decay), from: initial) }
            let warmup = Float(warmupSteps), clamped = min(step, decay + warmup)
            if clamped < warmup { return (target - initial) * (clamped / warmup) + initial }
            return decayed(clamped - warmup, from: target)
        case let .piecewiseConstant(boundaries, values):
            for (i, boundary) in boundaries.enumerated() where iterations <= boundary { return values[i] }
            return values[values.count - 1]
        }
    }

    public init(config: ConfigTable) throws {
        guard let name = try config.choice("name", LearningRateSchedule.names) else {
            throw DescriptionError("missing key \(config.key("name")) (one of \(LearningRateSchedule.names.joined(separator: ", ")))")
        }
        func required<T>(_ key: String, _ value: T?) throws -> T {
            guard let value else { throw DescriptionError("missing key \(config.key(key))") }
            return value
        }
        switch name {
        case "exponential_decay":
            self = .exponentialDecay(decaySteps: try required("decay_steps", config.int("decay_steps", min: 1)),
                                     decayRate: try required("decay_rate", config.float("decay_rate", in: 0...1e6, openLower: true)),
                                     staircase: try config.bool("staircase") ?? false)
        case "cosine_decay":
            self = .cosineDecay(decaySteps: try required("decay_steps", config.int("decay_steps", min: 1)),
                                alpha: try config.float("alpha", in: 0...1) ?? 0,
                                warmupTarget: try config.float("warmup_target", in: 0...1e6, openLower: true),
                                warmupSteps: try config.int("warmup_steps", min: 0) ?? 0)
        default:
            let boundaries = try required("boundaries", config.numbers("boundaries"))
            let values = try required("values", config.numbers("values"))
            guard boundaries.allSatisfy({ $0 == $0.rounded() && $0 >= 0 && $0 <= 1e15 }),
                  zip(boundaries, boundaries.dropFirst()).allSatisfy({ $0 < $1 }) else {
                throw DescriptionError("\(config.key("boundaries")) must be increasing whole step numbers (at most 1e15)")
            }
            guard values.count == boundaries.count + 1, values.allSatisfy({ Float($0) > 0 && Float($0).isFinite }) else {
                throw DescriptionError("\(config.key("values")) must hold one positive rate more than boundaries (\(boundaries.count + 1)), each a finite Float")
            }
            self = .piecewiseConstant(boundaries: boundaries.map { Int($0) }, values: values.map { Float($0) })
        }
        try config.finish()
    }

    public var config: [ConfigEntry] {
        switch self {
        case let .exponentialDecay(steps, rate, staircase):
            return [ConfigEntry("name", .string("exponential_decay")), ConfigEntry("decay_steps", .int(steps)),
                    ConfigEntry("decay_rate", .float(rate))] + (staircase ? [ConfigEntry("staircase", .bool(true))] : [])
        case let .cosineDecay(steps, alpha, target, warmup):
            return [ConfigEntry("name", .string("cosine_decay")), ConfigEntry("decay_steps", .int(steps)), ConfigEntry("alpha", .float(alpha))]
                + (target.map { [ConfigEntry("warmup_target", .float($0)), ConfigEntry("warmup_steps", .int(warmup))] } ?? [])
        case let .piecewiseConstant(boundaries, values):
            return [ConfigEntry("name", .string("piecewise_constant")), ConfigEntry("boundaries", .array(boundaries.map { .int($0) })),
                    ConfigEntry("values", .array(values.map { .float($0) }))]
        }
    }
}

/// Keras's `clipnorm`: each parameter tensor's gradient is scaled to an L2 norm of at most `clipnorm`,
/// `g = g * clipnorm / max(|g|, clipnorm)`, before the optimizer step.
public enum GradientClipping {
    public static func clip(_ gradient: UnsafeMutablePointer<Float>, layout: ParameterLayout, clipnorm: Float) {
        for view in layout.views {
            let g = gradient + view.offset
            var squares = 0.0
            for i in 0..<view.count { squares += Double(g[i]) * Double(g[i]) }
            let norm = Float(squares.squareRoot())
            guard norm > clipnorm else { continue }
            for i in 0..<view.count { g[i] = g[i] * clipnorm / norm }
        }
    }
}
