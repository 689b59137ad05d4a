import KindRegistry

/// A Keras callback that acts after each epoch on one figure of `metrics.csv` (`monitor`): stop the
/// run, lower the learning rate, keep the best weights. A kind is one type in one file and one line
/// in `CallbackRegistry.kinds`.
///
/// Contract: `epochEnded` is a pure function of the callback's keys, its `state` and the figures it
/// is given, so every rank that feeds it the same figures (rank 0's, broadcast) takes the same
/// decisions, and a run restored from `state` decides as the run that wrote it. `epoch` is Keras's
/// 0-based epoch index (the run folder's epoch minus 1).
public protocol Callback: Sendable {
    /// Keras's class name in snake case, e.g. `early_stopping`.
    static var name: String { get }
    /// Whether a config may hold several callbacks of this kind (each with its own state).
    static var allowsSeveral: Bool { get }
    init(config: ConfigTable) throws
    /// The keys `init(config:)` reads back to an equal callback (without `type`).
    var config: [ConfigEntry] { get }
    /// The figure it watches and the direction that counts as better.
    var monitor: Monitor { get }
    /// The figures it reads, each with the key that names it (`monitor` unless it says otherwise).
    var figuresUsed: [(key: String, figure: String)] { get }
    /// Everything it remembers between epochs, as numbers (written to checkpoints).
    var state: [Double] { get set }
    /// The places in `state` that hold counts (whole numbers from 0); the others are finite or NaN.
    static var countsInState: [Int] { get }
    /// Acts on the end of epoch `epoch` (0-based) whose watched figure is `value`.
    mutating func epochEnded(_ epoch: Int, value: Double, actions: inout CallbackActions)
}

extension Callback {
    static func described(by config: ConfigTable) throws -> any Callback { try Self(config: config) }
    public var name: String { Self.name }
    public var figuresUsed: [(key: String, figure: String)] { [("monitor", monitor.figure)] }
    public static var allowsSeveral: Bool { false }

    /// Whether `state` could have been written by this kind: counts are whole numbers in
    /// `0...Int32.max`, every other number finite or NaN; the checkpoint reader checks it first.
    public static func isValidState(_ state: [Double]) -> Bool {
        state.indices.allSatisfy { i in
            countsInState.contains(i) ? Int32(exactly: state[i]).map { $0 >= 0 } ?? false : !state[i].isInfinite
        }
    }
}

/// What the callbacks ask for after an epoch; the trainer carries it out on every rank.
public struct CallbackActions: Equatable, Sendable {
    /// End training after this epoch (`early_stopping`).
    public var stop = false
    /// The weights after this epoch are the best so far: keep a copy (`restore_best_weights`).
    public var keepBestWeights = false
    /// Write the weights after this epoch to the callback's file (`model_checkpoint`).
    public var save = false
    /// The learning rate was lowered (`reduce_lr_on_plateau`); the new state is in the callback.
    public var lowerRate = false
    public init() {}

    /// Also asks for whatever `other` asks for (several callbacks' decisions after one epoch).
    public mutating func merge(_ other: CallbackActions) {
        stop = stop || other.stop
        keepBestWeights = keepBestWeights || other.keepBestWeights
        save = save || other.save
        lowerRate = lowerRate || other.lowerRate
    }
}

/// A watched figure, the direction in which it improves and by how much it must (`min_delta`),
/// compared as Keras's `MonitorCallback._is_improvement` does: `op(value - delta, reference)` where
/// `delta` is `min_delta` with the sign of the direction, the subtraction in Double (Python floats)
/// and the comparison in Float, as `keras.ops.less`/`greater` convert Python floats to float32.
public struct Monitor: Equatable, Sendable {
    /// One of `figures`.
    public var figure: String
    /// The direction that counts as better.
    public var maximize: Bool
    /// `|min_delta|`.
    public var minDelta: Double

    /// The figures of `metrics.csv` a callback may watch, by their Keras names.
    public static let figures = ["loss", "accuracy", "val_loss", "val_accuracy", "test_loss", "test_accuracy"]

    /// Reads `monitor` (default `val_loss`) and `mode` (`auto`: Keras's rule, losses are minimised and
    /// accuracies maximised, whatever the `val_` or `test_` prefix).
    public init(config: ConfigTable, minDelta: Double) throws {
        figure = try config.choice("monitor", Self.figures) ?? "val_loss"
        let mode = try config.choice("mode", ["auto", "min", "max"]) ?? "auto"
        maximize = mode == "auto" ? figure.hasSuffix("accuracy") : mode == "max"
        self.minDelta = abs(minDelta)
        explicitMode = mode
    }

    /// The mode as configured (`auto` is kept so the config reads back unchanged).
    public var explicitMode: String

    public var config: [ConfigEntry] {
        [ConfigEntry("monitor", .string(figure))] + (explicitMode == "auto" ? [] : [ConfigEntry("mode", .string(explicitMode))])
    }

    /// Keras's `_is_improvement`: true without a reference (nil: nothing seen yet); NaN never improves.
    public func isImprovement(_ value: Double, over reference: Double?) -> Bool {
        guard let reference else { return true }
        let shifted = Float(maximize ? value - minDelta : value + minDelta)
        return maximize ? shifted > Float(reference) : shifted < Float(reference)
    }
}

/// Optional numbers in a callback's `state`: NaN stands for Keras's `None`.
extension Optional where Wrapped == Double {
    var stateValue: Double { self ?? .nan }
    init(stateValue: Double) { self = stateValue.isNaN ? nil : stateValue }
}

/// Every callback a config can name; adding one is one file and one line here.
public enum CallbackRegistry {
    public static let kinds: [any Callback.Type] = [
        EarlyStopping.self,
        ReduceLROnPlateau.self,
        ModelCheckpoint.self,
    ]

    public static let registry = Registry("callback", key: "type", kinds, name: { $0.name })

    /// The callback a `[[callbacks]]` table describes; unknown keys are errors.
    public static func callback(from config: ConfigTable) throws -> any Callback {
        let callback = try registry.kind(in: config).described(by: config)
        try config.finish()
        return callback
    }

    /// The table `callback(from:)` reads back to an equal callback: `type` first.
    public static func config(of callback: any Callback) -> [ConfigEntry] { registry.config(name: callback.name, callback.config) }

    public static func equal(_ a: [any Callback], _ b: [any Callback]) -> Bool { a.map(config(of:)) == b.map(config(of:)) }
}
