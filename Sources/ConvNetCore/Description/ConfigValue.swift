/// A value from a config file, independent of the file format (the config module reads TOML into these).
public indirect enum ConfigValue: Equatable, Sendable {
    case int(Int)
    case number(Double)
    case string(String)
    case bool(Bool)
    case array([ConfigValue])
    /// An inline table, e.g. `kernel_regularizer = { l2 = 0.0001 }`, or a section; entries in written order.
    case table([ConfigEntry])
    /// A TOML date or time: no key takes one; kept as its text so that the error can show it.
    case dateTime(String)

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
        case let .dateTime(text): return text
        }
    }

    /// `k` for a square pair, else `[h, w]`.
    public static func pair(_ value: (Int, Int)) -> ConfigValue {
        value.0 == value.1 ? .int(value.0) : .array([.int(value.0), .int(value.1)])
    }
}
