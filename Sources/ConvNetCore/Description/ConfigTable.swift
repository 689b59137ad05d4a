/// A value from a config file, independent of the file format (the config module reads TOML into these).
public indirect enum ConfigValue: Equatable, Sendable {
    case int(Int)
    case number(Double)
    case string(String)
    case bool(Bool)
    case array([ConfigValue])
    /// An inline table, e.g. `kernel_regularizer = { l2 = 0.0001 }`; entries in written order.
    case table([ConfigEntry])

    /// Floats are written from their shortest round-trip text, so `0.001` stays `0.001`.
    public static func float(_ value: Float) -> ConfigValue { .number(Double("\(value)")!) }
}

/// One `key = value` line of a layer's (or loss's, or schedule's) description.
public struct ConfigEntry: Equatable, Sendable {
    public var key: String
    public var value: ConfigValue
    public init(_ key: String, _ value: ConfigValue) {
        self.key = key
        self.value = value
    }
}

/// An error in a description, naming the key (e.g. `model.layers[2].strides`).
public struct DescriptionError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The keys of one config table, read by the type the table describes (a layer, a loss, a schedule).
///
/// Each typed getter names the key in its errors (`model.layers[0].filters must be at least 1, got 0`)
/// and remembers which keys were asked for, so `finish()` can reject a key nobody reads and list the
/// keys allowed there. That keeps a layer's keys in the layer's own file.
public final class ConfigTable {
    public let path: String
    private let values: [String: ConfigValue]
    private var asked: [String] = []

    public init(_ values: [String: ConfigValue], path: String) {
        self.values = values
        self.path = path
    }

    public func key(_ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }

    /// The raw value of `name`, marking it as known.
    public func value(_ name: String) -> ConfigValue? {
        if !asked.contains(name) { asked.append(name) }
        return values[name]
    }

    /// Throws when a key was given that no getter asked for.
    public func finish() throws {
        if let unknown = values.keys.sorted().first(where: { !asked.contains($0) }) {
            throw DescriptionError("unknown key \(key(unknown)) (allowed here: \(asked.sorted().joined(separator: ", ")))")
        }
    }

    private func typeError(_ name: String, _ expected: String, _ value: ConfigValue) -> DescriptionError {
        DescriptionError("\(key(name)) must be \(expected), got \(value.text)")
    }

    public func string(_ name: String) throws -> String? {
        guard let value = value(name) else { return nil }
        guard case let .string(s) = value else { throw typeError(name, "a string", value) }
        return s
    }

    /// One of `choices`.
    public func choice(_ name: String, _ choices: [String]) throws -> String? {
        guard let s = try string(name) else { return nil }
        guard choices.contains(s) else {
            throw DescriptionError("\(key(name)): unknown value \"\(s)\" (expected \(choices.joined(separator: ", ")))")
        }
        return s
    }

    public func bool(_ name: String) throws -> Bool? {
        guard let value = value(name) else { return nil }
        guard case let .bool(b) = value else { throw typeError(name, "true or false", value) }
        return b
    }

    public func int(_ name: String, min: Int, max: Int = Int.max) throws -> Int? {
        guard let value = value(name) else { return nil }
        guard case let .int(i) = value else { throw typeError(name, "an integer", value) }
        guard i >= min else { throw DescriptionError("\(key(name)) must be at least \(min), got \(i)") }
        guard i <= max else { throw DescriptionError("\(key(name)) must be at most \(max), got \(i)") }
        return i
    }

    public func number(_ name: String) throws -> Double? {
        guard let value = value(name) else { return nil }
        switch value {
        case let .number(d): return d
        case let .int(i): return Double(i)
        default: throw typeError(name, "a number", value)
        }
    }

    /// A finite Float in `range` (bounds as given; `open` excludes them).
    public func float(_ name: String, in range: ClosedRange<Double>, openLower: Bool = false,
                               openUpper: Bool = false) throws -> Float? {
        guard let d = try number(name) else { return nil }
        // Checked as the Float it becomes, so 1e-50 "above 0" or 0.999999999 "below 1" cannot round onto a bound.
        let f = Double(Float(d))
        let inside = d.isFinite && (openLower ? f > range.lowerBound : f >= range.lowerBound)
            && (openUpper ? f < range.upperBound : f <= range.upperBound)
        guard inside else {
            let lower = openLower ? "(" : "[", upper = openUpper ? ")" : "]"
            throw DescriptionError("\(key(name)) must be in \(lower)\(range.lowerBound), \(range.upperBound)\(upper), got \(d)")
        }
        return Float(d)
    }

    /// An integer `k` meaning `(k, k)`, or a pair `[h, w]` (window sizes and strides: at most 4096,
    /// which keeps every product of shapes far inside Int).
    public func intOrPair(_ name: String, min: Int, max: Int = 1 << 12) throws -> (Int, Int)? {
        guard let value = value(name) else { return nil }
        let pair: [ConfigValue]
        switch value {
        case .int: pair = [value, value]
        case let .array(items) where items.count == 2: pair = items
        default: throw typeError(name, "an integer or a pair [height, width]", value)
        }
        var result: [Int] = []
        for item in pair {
            guard case let .int(i) = item else { throw typeError(name, "an integer or a pair [height, width]", value) }
            guard i >= min, i <= max else { throw DescriptionError("\(key(name)) values must be in [\(min), \(max)], got \(value.text)") }
            result.append(i)
        }
        return (result[0], result[1])
    }

    public func numbers(_ name: String) throws -> [Double]? {
        guard let value = value(name) else { return nil }
        guard case let .array(items) = value else { throw typeError(name, "an array of numbers", value) }
        return try items.map { item in
            switch item {
            case let .number(d) where d.isFinite: return d
            case let .int(i): return Double(i)
            default: throw typeError(name, "an array of numbers", value)
            }
        }
    }

    public func table(_ name: String) throws -> ConfigTable? {
        guard let value = value(name) else { return nil }
        guard case let .table(entries) = value else { throw typeError(name, "a table like { key = value }", value) }
        return ConfigTable(Dictionary(entries.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a }), path: key(name))
    }
}

extension ConfigValue {
    /// TOML text of the value.
    public var text: String {
        switch self {
        case let .int(i): return String(i)
        case let .number(d): return "\(d)"
        case let .string(s):
            return "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        case let .bool(b): return String(b)
        case let .array(items): return "[" + items.map(\.text).joined(separator: ", ") + "]"
        case let .table(entries): return "{ " + entries.map { "\($0.key) = \($0.value.text)" }.joined(separator: ", ") + " }"
        }
    }

    /// `k` for a square pair, else `[h, w]`.
    public static func pair(_ value: (Int, Int)) -> ConfigValue {
        value.0 == value.1 ? .int(value.0) : .array([.int(value.0), .int(value.1)])
    }
}
