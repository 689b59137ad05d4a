import ConvNetCore
import Foundation
import CTOMLGuard
import TOMLKit

extension ExperimentConfig {
    /// Reads a config file. Every key must be known and every value valid; errors name the key.
    public static func load(path: String) throws -> ExperimentConfig {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigError("\(path): cannot read config file")
        }
        do { return try parse(toml: text, source: path) } catch let error as ConfigError {
            throw ConfigError("\(path): \(error.description)")
        }
    }

    /// Parses config text (TOML). Sections: `[data]`, `[model]` with `[[model.layers]]`,
    /// `[training]`, `[optimizer]`; see `configs/mnist.toml` for every key.
    public static func parse(toml text: String, source: String = "config") throws -> ExperimentConfig {
        let root = try tomlTable(text, source: source)
        var config = ExperimentConfig()
        let top = Section(root, path: "")
        try top.allowOnly(["data", "model", "training", "optimizer", "loss"])

        if let data = try top.section("data") {
            try data.allowOnly(["dataset", "format", "path", "skip_bad_files", "validation_split"])
            if let path = try data.string("path") {
                guard !path.isEmpty, path.unicodeScalars.allSatisfy({ $0.value >= 32 && $0.value != 127 }) else {
                    throw ConfigError("data.path must name a folder (no control characters)")
                }
                config.dataPath = path
            }
            if let skip = try data.bool("skip_bad_files") { config.skipBadFiles = skip }
            if let split = try data.number("validation_split") {
                guard split >= 0 && split < 1 else { throw ConfigError("data.validation_split must be at least 0 and below 1, got \(split)") }
                config.validationSplit = split
            }
            if let format = try data.string("format") {
                guard !format.isEmpty, format.count <= 16, format.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) }) else {
                    throw ConfigError("data.format must be a format name such as \"idx\", \"csv\", \"npz\" or \"folder\"")
                }
                config.dataFormat = format
            }
            if let name = try data.string("dataset") {
                // It names a folder (data/<dataset>) and the download catalogue: letters, digits, '.', '_', '-'.
                guard !name.isEmpty, name.count <= 64, name != ".", name != "..",
                      name.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0)) }) else {
                    throw ConfigError("data.dataset must be a simple name (letters, digits, '.', '_', '-'), got \"\(name.unicodeScalars.map { $0.escaped(asASCII: true) }.joined())\"")
                }
                config.dataset = name
            }
        }

        guard let model = try top.section("model") else { throw ConfigError("missing [model] section") }
        config.model = try parseModel(model)

        if let training = try top.section("training") {
            try training.allowOnly(["epochs", "batch_size", "seed", "shuffle"])
            if let v = try training.int("epochs", min: 1) { config.epochs = v }
            if let v = try training.int("batch_size", min: 1) { config.batchSize = v }
            if let v = try training.int("seed", min: 0) { config.seed = UInt64(v) }
            if let v = try training.bool("shuffle") { config.shuffle = v }
        }

        if let optimizer = try top.section("optimizer") {
            config.optimizer = try parseOptimizer(optimizer)
            config.clipnorm = try optimizer.positive("clipnorm")
            if let schedule = try optimizer.section("schedule") {
                config.schedule = try describe { try LearningRateSchedule(config: schedule.configTable) }
            }
        }
        if let loss = try top.section("loss") {
            config.loss = try describe { try LossRegistry.loss(from: loss.configTable) }
        }
        try config.validate()
        return config
    }

    private static func parseModel(_ model: Section) throws -> ModelSpec {
        try model.allowOnly(["input_shape", "classes", "layers"])
        guard let shape = try model.intArray("input_shape", count: 3, min: 1) else {
            throw ConfigError("missing key model.input_shape (e.g. [28, 28, 1])")
        }
        guard let classes = try model.int("classes", min: 2) else { throw ConfigError("missing key model.classes") }
        let layerSections = try model.sectionArray("layers")
        guard !layerSections.isEmpty else { throw ConfigError("model.layers is empty: add [[model.layers]] entries") }
        let layers = try layerSections.map(parseLayer)
        return ModelSpec(inputShape: TensorShape(shape), classes: classes, layers: layers)
    }

    /// Runs a description's parser, reporting its errors as config errors.
    private static func describe<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as DescriptionError { throw ConfigError(error.description) }
    }

    private static func parseLayer(_ layer: Section) throws -> any Layer {
        try describe { try LayerRegistry.layer(from: layer.configTable) }
    }

    private static func parseOptimizer(_ section: Section) throws -> OptimizerSpec {
        let name = try section.string("name") ?? "rmsprop"
        guard var spec = OptimizerSpec.defaults(for: name) else {
            throw ConfigError("optimizer.name: unknown optimizer \"\(name)\" (expected \(OptimizerSpec.names.joined(separator: ", ")))")
        }
        switch spec {
        case let .rmsprop(lr, rho, eps):
            try section.allowOnly(["name", "learning_rate", "rho", "epsilon", "clipnorm", "schedule"])
            spec = .rmsprop(learningRate: try section.positive("learning_rate") ?? lr,
                            rho: try section.fraction("rho") ?? rho,
                            epsilon: try section.positive("epsilon") ?? eps)
        case let .sgd(lr, momentum, nesterov):
            try section.allowOnly(["name", "learning_rate", "momentum", "nesterov", "clipnorm", "schedule"])
            spec = .sgd(learningRate: try section.positive("learning_rate") ?? lr,
                        momentum: try section.fraction("momentum") ?? momentum,
                        nesterov: try section.bool("nesterov") ?? nesterov)
        case let .adam(lr, b1, b2, eps):
            try section.allowOnly(["name", "learning_rate", "beta_1", "beta_2", "epsilon", "clipnorm", "schedule"])
            spec = .adam(learningRate: try section.positive("learning_rate") ?? lr,
                         beta1: try section.fraction("beta_1") ?? b1,
                         beta2: try section.fraction("beta_2") ?? b2,
                         epsilon: try section.positive("epsilon") ?? eps)
        }
        return spec
    }
}

/// A TOML table with its dotted path, whose typed getters report errors by key name.
private struct Section {
    let table: TOMLTable
    let path: String

    init(_ table: TOMLTable, path: String) {
        self.table = table
        self.path = path
    }

    func key(_ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }

    /// The table as format-free values, for the types that describe themselves (layers, losses, schedules).
    var configTable: ConfigTable {
        ConfigTable(Dictionary(uniqueKeysWithValues: table.keys.map { ($0, Section.value(table[$0]!)) }), path: path)
    }

    private static func value(_ toml: TOMLValueConvertible) -> ConfigValue {
        if let b = toml.bool { return .bool(b) }
        if let i = toml.int { return .int(i) }
        if let d = toml.double { return .number(d) }
        if let s = toml.string { return .string(s) }
        if let array = toml.array { return .array(array.map { value($0) }) }
        if let table = toml.table { return .table(table.keys.sorted().map { ConfigEntry($0, value(table[$0]!)) }) }
        return .string(toml.debugDescription)
    }

    func allowOnly(_ allowed: Set<String>) throws {
        if let unknown = table.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw ConfigError("unknown key \(key(unknown)) (allowed here: \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    private func typeError(_ name: String, _ expected: String, _ value: TOMLValueConvertible) -> ConfigError {
        ConfigError("\(key(name)) must be \(expected), got \(value.debugDescription)")
    }

    func section(_ name: String) throws -> Section? {
        guard let value = table[name] else { return nil }
        guard let sub = value.table else { throw typeError(name, "a table", value) }
        return Section(sub, path: key(name))
    }

    func sectionArray(_ name: String) throws -> [Section] {
        guard let value = table[name] else { return [] }
        guard let array = value.array else { throw typeError(name, "an array of tables ([[\(key(name))]])", value) }
        return try array.enumerated().map { index, element in
            guard let sub = element.table else { throw ConfigError("\(key(name))[\(index)] must be a table") }
            return Section(sub, path: "\(key(name))[\(index)]")
        }
    }

    func string(_ name: String) throws -> String? {
        guard let value = table[name] else { return nil }
        guard let s = value.string else { throw typeError(name, "a string", value) }
        return s
    }

    func bool(_ name: String) throws -> Bool? {
        guard let value = table[name] else { return nil }
        guard let b = value.bool else { throw typeError(name, "true or false", value) }
        return b
    }

    func int(_ name: String, min: Int) throws -> Int? {
        guard let value = table[name] else { return nil }
        guard let i = value.int else { throw typeError(name, "an integer", value) }
        guard i >= min else { throw ConfigError("\(key(name)) must be at least \(min), got \(i)") }
        return i
    }

    func number(_ name: String) throws -> Double? {
        guard let value = table[name] else { return nil }
        if let d = value.double { return d }
        if let i = value.int { return Double(i) }
        throw typeError(name, "a number", value)
    }

    /// A positive number that stays positive and finite as a Float (1e-50 would become 0).
    func positive(_ name: String) throws -> Float? {
        guard let d = try number(name) else { return nil }
        guard d.isFinite, d > 0, Float(d) > 0, Float(d).isFinite else {
            throw ConfigError("\(key(name)) must be a positive number that a Float holds (\(Float.leastNormalMagnitude) to \(Float.greatestFiniteMagnitude)), got \(d)")
        }
        return Float(d)
    }

    /// A number in [0, 1) that stays below 1 as a Float (0.999999999 would become 1).
    func fraction(_ name: String) throws -> Float? {
        guard let d = try number(name) else { return nil }
        guard d >= 0, d < 1, Float(d) < 1 else { throw ConfigError("\(key(name)) must be in [0, 1) and below 1 as a Float, got \(d)") }
        return Float(d)
    }

    func intArray(_ name: String, count: Int, min: Int) throws -> [Int]? {
        guard let value = table[name] else { return nil }
        guard let array = value.array, array.count == count,
              case let ints = array.compactMap(\.int), ints.count == count else {
            throw typeError(name, "an array of \(count) integers", value)
        }
        guard ints.allSatisfy({ $0 >= min }) else { throw ConfigError("\(key(name)) values must be at least \(min), got \(ints)") }
        return ints
    }

    /// An integer `k` meaning `(k, k)`, or a pair `[h, w]`.
    func intOrPair(_ name: String, min: Int) throws -> (Int, Int)? {
        guard let value = table[name] else { return nil }
        if let k = value.int {
            guard k >= min else { throw ConfigError("\(key(name)) must be at least \(min), got \(k)") }
            return (k, k)
        }
        guard let pair = try intArray(name, count: 2, min: min) else { return nil }
        return (pair[0], pair[1])
    }
}

extension ExperimentConfig {
    /// One layer from the body of its `[[model.layers]]` table (`type = "conv2d"`, ...).
    public static func layer(toml body: String) throws -> any Layer {
        try describeTable(body, path: "layer") { try LayerRegistry.layer(from: $0) }
    }

    /// A loss from the body of its `[loss]` table.
    public static func loss(toml body: String) throws -> any Loss {
        try describeTable(body, path: "loss") { try LossRegistry.loss(from: $0) }
    }

    /// A schedule from the body of its `[optimizer.schedule]` table.
    public static func schedule(toml body: String) throws -> LearningRateSchedule {
        try describeTable(body, path: "optimizer.schedule") { try LearningRateSchedule(config: $0) }
    }

    /// TOMLKit's parse, with its internal assertions turned into a config error naming `source`
    /// (see CTOMLGuard).
    static func tomlTable(_ text: String, source: String) throws -> TOMLTable {
        let name = strdup(source)
        ctg_set_source(name)
        defer {
            ctg_set_source(nil)
            free(name)
        }
        do { return try TOMLTable(string: text) } catch let error as TOMLParseError {
            throw ConfigError("invalid TOML at line \(error.source.begin.line): \(error.description)")
        } catch {
            throw ConfigError("invalid TOML: \(error)")
        }
    }

    private static func describeTable<T>(_ body: String, path: String, _ make: (ConfigTable) throws -> T) throws -> T {
        let table = try tomlTable(body, source: path)
        do { return try make(Section(table, path: path).configTable) } catch let error as DescriptionError {
            throw ConfigError(error.description)
        }
    }
}
