import KindRegistry

/// An optimizer updates one flat parameter buffer from one flat gradient buffer (the mean gradient),
/// keeping its state in flat buffers of the same layout, named for checkpoints (`rms`, `m`, `v`, ...).
///
/// A kind is one class in one file: its Keras name, its keys (`keys`; the properties' initial values
/// are Keras 3's defaults), its state buffers and its update; and one line in `OptimizerSpec.registry`.
/// Configs, `--optimizer`, checkpoints and the Keras script find it there.
public protocol Optimizer: AnyObject {
    /// Keras name, e.g. `rmsprop` (`[optimizer] name`, `--optimizer`, a checkpoint's `optimizer`).
    static var name: String { get }
    /// The Keras class, e.g. `RMSprop` for `keras.optimizers.RMSprop`.
    static var kerasClass: String { get }
    /// The keys of its `[optimizer]` table, named and ordered as Keras's arguments, `learning_rate` first.
    static var keys: [OptimizerKey<Self>] { get }
    /// Keras 3's defaults, and zeroed state for `parameterCount` parameters.
    init(parameterCount: Int)
    var learningRate: Float { get set }
    /// Keras 3's decoupled `weight_decay` (nil: none): before each update, `w -= w * wd * lr` on
    /// every parameter, at the step's learning rate (see `decayWeights`).
    var weightDecay: Float? { get set }
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
    public var name: String { Self.name }

    /// Reads the kind's keys from an `[optimizer]` table (Keras 3's default for each key not given)
    /// and makes the state for `parameterCount` parameters. Leaves the table's other keys alone.
    public init(config: ConfigTable, parameterCount: Int) throws {
        self.init(parameterCount: parameterCount)
        for key in Self.keys { try key.read(config, self) }
    }

    /// The keys `init(config:parameterCount:)` reads back to the same optimizer (a key whose Keras
    /// default is None is left out while it has none).
    public var config: [ConfigEntry] { Self.keys.compactMap { $0.entry(self) } }

    /// Keras 3's `_apply_weight_decay`, which every kind calls on its slice before its own update:
    /// `w = w - (w * wd) * lr`, in that order, with the learning rate of this step (a schedule's
    /// value). Keras decays every trainable variable (none is excluded unless asked), so every parameter.
    @inline(__always)
    public func decayWeights(_ w: UnsafeMutablePointer<Float>, range: Range<Int>) {
        guard let wd = weightDecay else { return }
        let lr = learningRate
        for i in range { w[i] -= w[i] * wd * lr }
    }

    static var keyNames: [String] { keys.map(\.name) }

    /// One whole step on `count` values: `parameters -= update(gradients)`.
    public func step(parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>, count: Int) {
        update(parameters: parameters, gradients: gradients, range: 0..<count)
        finishStep()
    }

    public func finishStep() { iterations += 1 }

    /// `init(config:parameterCount:)` as an existential (see `Layer.described(by:)`).
    static func described(by config: ConfigTable, parameterCount: Int) throws -> any Optimizer {
        try Self(config: config, parameterCount: parameterCount)
    }
}

/// One key of an optimizer's `[optimizer]` table: its Keras argument name, the values it takes and
/// the property it sets. A kind lists its keys once; reading and writing the table follow from the list.
public struct OptimizerKey<Kind: Optimizer> {
    public let name: String
    let read: (ConfigTable, Kind) throws -> Void
    let entry: (Kind) -> ConfigEntry?

    /// A number that stays positive and finite as a Float (`learning_rate`, `epsilon`).
    public static func positive(_ name: String, _ property: ReferenceWritableKeyPath<Kind, Float>) -> OptimizerKey {
        OptimizerKey(name, property, read: { try $0.positive($1) }, value: ConfigValue.float)
    }

    /// A number in [0, 1) that stays below 1 as a Float (`rho`, `momentum`, `beta_1`).
    public static func fraction(_ name: String, _ property: ReferenceWritableKeyPath<Kind, Float>) -> OptimizerKey {
        OptimizerKey(name, property, read: { try $0.fraction($1) }, value: ConfigValue.float)
    }

    public static func bool(_ name: String, _ property: ReferenceWritableKeyPath<Kind, Bool>) -> OptimizerKey {
        OptimizerKey(name, property, read: { try $0.bool($1) }, value: ConfigValue.bool)
    }

    /// `weight_decay`: a number at least 0 that a Float holds; written only when set (Keras's None).
    public static func weightDecay(_ property: ReferenceWritableKeyPath<Kind, Float?>) -> OptimizerKey {
        let name = "weight_decay"
        return OptimizerKey(name: name, read: { config, optimizer in
            guard let d = try config.number(name) else { return }
            guard d >= 0, d.isFinite, Float(d).isFinite else {
                throw DescriptionError("\(config.key(name)) must be a number at least 0 (0.004 is AdamW's default), got \(d)")
            }
            optimizer[keyPath: property] = Float(d)
        }, entry: { $0[keyPath: property].map { ConfigEntry(name, .float($0)) } })
    }

    private init(name: String, read: @escaping (ConfigTable, Kind) throws -> Void, entry: @escaping (Kind) -> ConfigEntry?) {
        self.name = name
        self.read = read
        self.entry = entry
    }

    private init<Value>(_ name: String, _ property: ReferenceWritableKeyPath<Kind, Value>,
                        read: @escaping (ConfigTable, String) throws -> Value?, value: @escaping (Value) -> ConfigValue) {
        self.name = name
        self.read = { config, optimizer in
            if let given = try read(config, name) { optimizer[keyPath: property] = given }
        }
        entry = { ConfigEntry(name, value($0[keyPath: property])) }
    }
}

/// An optimizer as a recipe gives it: its kind and its keys, Keras 3's defaults filled in. A value,
/// so recipes compare, print and travel; `make` builds the optimizer with its state.
public struct OptimizerSpec: Equatable, Sendable {
    public let kind: any Optimizer.Type
    /// The initial learning rate (a schedule starts from it); `--lr` sets it.
    public var learningRate: Float
    /// The kind's keys as it writes them.
    private let keys: [ConfigEntry]

    /// The optimizer an `[optimizer]` table names (RMSprop when it names none), with its keys read.
    /// The table may hold `otherKeys` too (the caller reads them); any other key is an error, reported
    /// before any value is checked.
    public init(config: ConfigTable, otherKeys: [String] = []) throws {
        let kind = try OptimizerSpec.registry.kind(in: config, fallback: RMSprop.name)
        try config.allowOnly([OptimizerSpec.registry.key] + kind.keyNames + otherKeys)
        self.init(try kind.described(by: config, parameterCount: 0))
    }

    /// The optimizer called `name` with Keras 3's defaults; `key` (e.g. `--optimizer`) names the
    /// source in the error for an unknown name.
    public init(named name: String, key: String) throws {
        let kind = try OptimizerSpec.registry.kind(named: name, key: key, error: DescriptionError.init)
        self.init(try kind.described(by: ConfigTable([:], path: key), parameterCount: 0))
    }

    /// The optimizer called `name` with Keras 3's defaults; nil for a name no kind has.
    public static func defaults(for name: String) -> OptimizerSpec? { try? OptimizerSpec(named: name, key: "optimizer.name") }

    /// The kind and keys of `optimizer` (its state is not part of a spec).
    public init(_ optimizer: any Optimizer) {
        kind = type(of: optimizer)
        learningRate = optimizer.learningRate
        keys = optimizer.config
    }

    /// RMSprop with Keras's defaults: the reference recipe's.
    public static let reference = OptimizerSpec(RMSprop(parameterCount: 0))

    public var name: String { kind.name }

    /// The keys of `[optimizer]` after `name`: the kind's, with this learning rate.
    public var config: [ConfigEntry] {
        keys.map { $0.key == "learning_rate" ? ConfigEntry($0.key, .float(learningRate)) : $0 }
    }

    /// The optimizer with zeroed state for `parameterCount` parameters.
    public func make(parameterCount: Int) -> any Optimizer {
        // The keys are the kind's own writing of an optimizer it read: they read back (OptimizerTests).
        let optimizer = try! kind.described(by: ConfigTable(keys, path: "optimizer"), parameterCount: parameterCount)
        optimizer.learningRate = learningRate
        return optimizer
    }

    public static func == (a: OptimizerSpec, b: OptimizerSpec) -> Bool { a.name == b.name && a.config == b.config }
}

extension OptimizerSpec {
    /// Every optimizer a config or `--optimizer` can name; adding one is one file and one line here.
    public static let registry = Registry<any Optimizer.Type>("optimizer", [
        RMSprop.self,
        SGD.self,
        Adam.self,
        AdamW.self,
    ], name: { $0.name })
}
