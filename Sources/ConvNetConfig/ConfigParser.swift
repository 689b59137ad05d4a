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
    /// `[training]`, `[optimizer]` with `[optimizer.schedule]`, `[loss]`, `[logging]`; see `configs/mnist.toml`
    /// for every key.
    public static func parse(toml text: String, source: String = "config") throws -> ExperimentConfig {
        let top = try configTable(text, source: source, path: "")
        var config = ExperimentConfig()
        try describing {
            try top.allowOnly(["data", "model", "training", "optimizer", "loss", "logging", "callbacks"])
            if let data = try top.table("data") { try read(data: data, into: &config) }
            guard let model = try top.table("model") else { throw ConfigError("missing [model] section") }
            config.model = try modelSpec(model)
            if let training = try top.table("training") {
                try training.allowOnly(["epochs", "batch_size", "accumulation_steps", "seed", "shuffle", "allreduce_dtype"])
                if let v = try training.int("epochs", min: 1) { config.epochs = v }
                if let v = try training.int("batch_size", min: 1) { config.batchSize = v }
                if let v = try training.int("accumulation_steps", min: 1) { config.accumulationSteps = v }
                if let v = try training.int("seed", min: 0) { config.seed = UInt64(v) }
                if let v = try training.bool("shuffle") { config.shuffle = v }
                if let v = try training.choice("allreduce_dtype", AllreduceDType.allCases.map(\.rawValue)) {
                    config.allreduceDtype = AllreduceDType(rawValue: v)!
                }
            }
            if let optimizer = try top.table("optimizer") {
                config.optimizer = try OptimizerSpec(config: optimizer, otherKeys: ["clipnorm", "schedule"])
                config.clipnorm = try optimizer.positive("clipnorm")
                if let schedule = try optimizer.table("schedule") { config.schedule = try ScheduleRegistry.schedule(from: schedule) }
            }
            if let loss = try top.table("loss") { config.loss = try LossRegistry.loss(from: loss) }
            if let logging = try top.table("logging") {
                try logging.allowOnly(["tensorboard"])
                if let v = try logging.bool("tensorboard") { config.tensorboard = v }
            }
            config.callbacks = try top.tables("callbacks").map(CallbackRegistry.callback(from:))
        }
        try config.validate()
        return config
    }

    private static func read(data: ConfigTable, into config: inout ExperimentConfig) throws {
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
            guard !format.isEmpty, format.count <= 16, format.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) }) else {
                throw ConfigError("data.format must be a format name such as \"idx\", \"csv\", \"npz\", \"folder\" or \"cifar10\"")
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
            if try data.string("format") == nil, let format = ExperimentConfig.formatOfDataset[name] { config.dataFormat = format }
        }
    }

    private static func modelSpec(_ model: ConfigTable) throws -> ModelSpec {
        try model.allowOnly(["input_shape", "classes", "layers", "convolution"])
        guard let shape = try model.ints("input_shape", count: 3, min: 1) else {
            throw ConfigError("missing key model.input_shape (e.g. [28, 28, 1])")
        }
        guard let classes = try model.int("classes", min: 2) else { throw ConfigError("missing key model.classes") }
        let layerTables = try model.tables("layers")
        guard !layerTables.isEmpty else { throw ConfigError("model.layers is empty: add [[model.layers]] entries") }
        var names: [String?] = [], inputs: [[String]?] = []
        for table in layerTables {
            names.append(try layerName(table, "name"))
            inputs.append(try table.value("inputs").map { value in
                guard case let .array(items) = value, !items.isEmpty else {
                    throw ConfigError("\(table.key("inputs")) must be a list of layer names such as [\"conv2d_1\", \"input\"], got \(value.text)")
                }
                return try items.map { item in
                    guard case let .string(name) = item else {
                        throw ConfigError("\(table.key("inputs")) must be a list of layer names such as [\"conv2d_1\", \"input\"], got \(value.text)")
                    }
                    try requireLayerName(name, key: table.key("inputs"))
                    return name
                }
            })
        }
        var layers = try layerTables.map(LayerRegistry.layer(from:))
        // The model's `convolution` applies to the convolutions it suits that name none of their own.
        if let name = try model.choice("convolution", ConvolutionAlgorithm.allCases.map(\.rawValue)),
           let algorithm = ConvolutionAlgorithm(rawValue: name) {
            layers = layers.map { ($0 as? Conv2D)?.following(model: algorithm) ?? $0 }
        }
        return ModelSpec(inputShape: TensorShape(shape), classes: classes, layers: layers,
                         names: names.contains { $0 != nil } ? names : [],
                         inputs: inputs.contains { $0 != nil } ? inputs : [])
    }

    /// A layer's `name`: it names tensors (`<name>.kernel`) and exported layers, so letters, digits, '_' and '-'.
    private static func layerName(_ table: ConfigTable, _ key: String) throws -> String? {
        guard let name = try table.string(key) else { return nil }
        try requireLayerName(name, key: table.key(key))
        return name
    }

    private static func requireLayerName(_ name: String, key: String) throws {
        guard !name.isEmpty, name.count <= 64,
              name.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "_-".unicodeScalars.contains($0)) }) else {
            throw ConfigError("\(key): \"\(name.unicodeScalars.map { $0.escaped(asASCII: true) }.joined())\" is not a layer name (1 to 64 letters, digits, '_' or '-')")
        }
    }

    /// One layer from the body of its `[[model.layers]]` table (`type = "conv2d"`, ...).
    public static func layer(toml body: String) throws -> any Layer {
        try describing { try LayerRegistry.layer(from: configTable(body, source: "layer", path: "layer")) }
    }

    /// A loss from the body of its `[loss]` table.
    public static func loss(toml body: String) throws -> any Loss {
        try describing { try LossRegistry.loss(from: configTable(body, source: "loss", path: "loss")) }
    }

    /// An optimizer from the body of its `[optimizer]` table (its own keys only: no schedule, no clipnorm).
    public static func optimizer(toml body: String) throws -> OptimizerSpec {
        try describing { try OptimizerSpec(config: configTable(body, source: "optimizer", path: "optimizer")) }
    }

    /// A schedule from the body of its `[optimizer.schedule]` table.
    public static func schedule(toml body: String) throws -> any LearningRateSchedule {
        try describing { try ScheduleRegistry.schedule(from: configTable(body, source: "optimizer.schedule", path: "optimizer.schedule")) }
    }

    /// A callback from the body of its `[[callbacks]]` table (`type = "early_stopping"`, ...).
    public static func callback(toml body: String) throws -> any Callback {
        try describing { try CallbackRegistry.callback(from: configTable(body, source: "callbacks", path: "callbacks")) }
    }

    /// A callback from a `--callback` flag, `TYPE:KEY=VALUE,KEY=VALUE` (values in TOML syntax, e.g.
    /// `early_stopping:patience=5,monitor="val_accuracy"`; a bare word is a string), read by the
    /// same code as a `[[callbacks]]` table.
    public static func callback(flag: String) throws -> any Callback {
        let (type, rest) = flag.firstIndex(of: ":").map { (String(flag[..<$0]), String(flag[flag.index(after: $0)...])) } ?? (flag, "")
        var lines = ["type = \(quotedFlagValue(type))"]
        for pair in rest.split(separator: ",", omittingEmptySubsequences: true) {
            guard let equals = pair.firstIndex(of: "=") else {
                throw ConfigError("--callback \(flag): \"\(pair)\" is not KEY=VALUE (e.g. early_stopping:patience=5,monitor=val_accuracy)")
            }
            let key = pair[..<equals].trimmingCharacters(in: .whitespaces), value = pair[pair.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw ConfigError("--callback \(flag): \"\(key)\" is not a key name")
            }
            lines.append("\(key) = \(quotedFlagValue(value))")
        }
        do { return try callback(toml: lines.joined(separator: "\n")) } catch let error as ConfigError {
            throw ConfigError("--callback \(flag): \(error.description.replacingOccurrences(of: "callbacks.", with: ""))")
        }
    }

    /// A flag's value as TOML: numbers, booleans and quoted strings as they are; a bare word quoted.
    private static func quotedFlagValue(_ value: String) -> String {
        if value == "true" || value == "false" || value.hasPrefix("\"") || Double(value) != nil || Int(value) != nil { return value }
        return "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// Runs a reader, reporting the errors of the descriptions it reads as config errors.
    private static func describing<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as DescriptionError { throw ConfigError(error.description) }
    }

    /// TOML text as a table for the typed reader, its keys named from `path`.
    static func configTable(_ text: String, source: String, path: String) throws -> ConfigTable {
        let table = try tomlTable(text, source: source)
        return ConfigTable(Dictionary(uniqueKeysWithValues: table.keys.map { ($0, value(table[$0]!)) }), path: path)
    }

    private static func value(_ toml: TOMLValueConvertible) -> ConfigValue {
        if let b = toml.bool { return .bool(b) }
        if let i = toml.int { return .int(i) }
        if let d = toml.double { return .number(d) }
        if let s = toml.string { return .string(s) }
        if let array = toml.array { return .array(array.map { value($0) }) }
        if let table = toml.table { return .table(table.keys.sorted().map { ConfigEntry($0, value(table[$0]!)) }) }
        return .dateTime(toml.debugDescription)
    }

    /// TOMLKit's parse, with its internal assertions turned into a config error naming `source`
    /// (see CTOMLGuard).
    static func tomlTable(_ text: String, source: String) throws -> TOMLTable {
        // toml++ reads a C string: a NUL byte would end the config there, silently dropping every
        // section after it. TOML allows no control character but tab in any part of a document.
        if let nul = text.utf8.firstIndex(of: 0) {
            let line = text.utf8[..<nul].reduce(1) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
            throw ConfigError("invalid TOML at line \(line): a NUL byte (TOML allows no control characters)")
        }
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
}
