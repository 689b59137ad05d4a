/// An optimizer updates one flat parameter buffer from one flat gradient buffer (the mean gradient),
/// keeping its state in flat buffers of the same layout, named for checkpoints (`rms`, `m`, `v`, ...).
public protocol Optimizer: AnyObject {
    /// Keras name, e.g. `rmsprop`.
    var name: String { get }
    var learningRate: Float { get set }
    /// Steps applied so far (Keras `iterations`); Adam's bias correction depends on it.
    var iterations: Int { get set }
    /// Per-parameter state buffers by name, each `parameterCount` long.
    var state: [(name: String, buffer: FloatBuffer)] { get }
    /// `parameters[i] -= update(gradients[i])` for `i` in `range`: one slice of a step. A step updates
    /// disjoint slices that cover every parameter (from several threads at once, if it likes: slices
    /// share nothing), then calls `finishStep()`. Each element's arithmetic is the same whatever the slices.
    func update(parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>, range: Range<Int>)
    /// Ends a step whose slices are all updated: counts it in `iterations`.
    func finishStep()
}

extension Optimizer {
    /// One whole step on `count` values: `parameters -= update(gradients)`.
    public func step(parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>, count: Int) {
        update(parameters: parameters, gradients: gradients, range: 0..<count)
        finishStep()
    }

    public func finishStep() { iterations += 1 }
}

/// Optimizer choice and hyper-parameters, as a config or flags give them.
public enum OptimizerSpec: Equatable, Sendable {
    case rmsprop(learningRate: Float, rho: Float, epsilon: Float)
    case sgd(learningRate: Float, momentum: Float, nesterov: Bool)
    case adam(learningRate: Float, beta1: Float, beta2: Float, epsilon: Float)

    /// Keras 3 defaults for each optimizer.
    public static func defaults(for name: String) -> OptimizerSpec? {
        switch name {
        case "rmsprop": return .rmsprop(learningRate: 0.001, rho: 0.9, epsilon: 1e-7)
        case "sgd": return .sgd(learningRate: 0.01, momentum: 0, nesterov: false)
        case "adam": return .adam(learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7)
        default: return nil
        }
    }

    public static let names = ["rmsprop", "sgd", "adam"]

    public var name: String {
        switch self {
        case .rmsprop: return "rmsprop"
        case .sgd: return "sgd"
        case .adam: return "adam"
        }
    }

    public var learningRate: Float {
        get {
            switch self {
            case let .rmsprop(lr, _, _), let .sgd(lr, _, _), let .adam(lr, _, _, _): return lr
            }
        }
        set {
            switch self {
            case let .rmsprop(_, rho, eps): self = .rmsprop(learningRate: newValue, rho: rho, epsilon: eps)
            case let .sgd(_, m, n): self = .sgd(learningRate: newValue, momentum: m, nesterov: n)
            case let .adam(_, b1, b2, eps): self = .adam(learningRate: newValue, beta1: b1, beta2: b2, epsilon: eps)
            }
        }
    }

    public func make(parameterCount: Int) -> any Optimizer {
        switch self {
        case let .rmsprop(lr, rho, eps): return RMSprop(parameterCount: parameterCount, learningRate: lr, rho: rho, epsilon: eps)
        case let .sgd(lr, m, n): return SGD(parameterCount: parameterCount, learningRate: lr, momentum: m, nesterov: n)
        case let .adam(lr, b1, b2, eps): return Adam(parameterCount: parameterCount, learningRate: lr, beta1: b1, beta2: b2, epsilon: eps)
        }
    }
}
