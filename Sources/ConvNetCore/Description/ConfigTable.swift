/// An error in a description, naming the key (e.g. `model.layers[2].strides`).
public struct DescriptionError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The one typed reader of config tables: every section of a config file and the keys of every
/// kind (a layer, a loss, an optimizer, a schedule) are read through it.
///
/// Each typed getter names the key in its errors (`model.layers[0].filters must be at least 1, got 0`)
/// and remembers which keys were asked for, so `finish()` can reject a key nobody reads and list the
/// keys allowed there. That keeps a kind's keys in the kind's own file. A section whose keys are
/// fixed lists them up front with `allowOnly`, so a misspelt key is reported before anything else.
public final class ConfigTable {
    public let path: String
    private let values: [String: ConfigValue]
    private var asked: [String] = []

    public init(_ values: [String: ConfigValue], path: String) {
        self.values = values
        self.path = path
    }

    /// A table of `entries` (the first of repeated keys wins).
    public convenience init(_ entries: [ConfigEntry], path: String) {
        self.init(Dictionary(entries.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a }), path: path)
    }

    public func key(_ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }

    /// The raw value of `name`, marking it as known.
    public func value(_ name: String) -> ConfigValue? {
        if !asked.contains(name) { asked.append(name) }
        return values[name]
    }

    /// Throws when a key was given that no getter asked for.
    public func finish() throws { try allowOnly(asked) }

    /// Throws when a key outside `allowed` was given.
    public func allowOnly(_ allowed: [String]) throws {
        if let unknown = values.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw DescriptionError("unknown key \(key(unknown)) (allowed here: \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    private func typeError(_ name: String, _ expected: String, _ value: ConfigValue) -> DescriptionError {
        DescriptionError("\(key(name)) must be \(expected), got \(value.text)")
    }

    /// The value of a key that has no default, read by `read` (e.g. `{ try config.int($0, min: 1) }`).
    public func required<T>(_ name: String, _ read: (String) throws -> T?) throws -> T {
        guard let value = try read(name) else { throw DescriptionError("missing key \(key(name))") }
        return value
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

    /// A positive number that stays positive and finite as a Float (1e-50 would become 0).
    public func positive(_ name: String) throws -> Float? {
        guard let d = try number(name) else { return nil }
        guard d.isFinite, d > 0, Float(d) > 0, Float(d).isFinite else {
            throw DescriptionError("\(key(name)) must be a positive number that a Float holds (\(Float.leastNormalMagnitude) to \(Float.greatestFiniteMagnitude)), got \(d)")
        }
        return Float(d)
    }

    /// A number in [0, 1) that stays below 1 as a Float (0.999999999 would become 1).
    public func fraction(_ name: String) throws -> Float? {
        guard let d = try number(name) else { return nil }
        guard d >= 0, d < 1, Float(d) < 1 else { throw DescriptionError("\(key(name)) must be in [0, 1) and below 1 as a Float, got \(d)") }
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

    /// Exactly `count` integers, each at least `min`.
    public func ints(_ name: String, count: Int, min: Int) throws -> [Int]? {
        guard let value = value(name) else { return nil }
        guard case let .array(items) = value, items.count == count,
              case let ints = items.compactMap({ if case let .int(i) = $0 { i } else { nil } }), ints.count == count else {
            throw typeError(name, "an array of \(count) integers", value)
        }
        guard ints.allSatisfy({ $0 >= min }) else { throw DescriptionError("\(key(name)) values must be at least \(min), got \(ints)") }
        return ints
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

    /// A sub-table: a section such as `[optimizer.schedule]` or an inline table.
    public func table(_ name: String) throws -> ConfigTable? {
        guard let value = value(name) else { return nil }
        guard case let .table(entries) = value else { throw typeError(name, "a table like { key = value }", value) }
        return ConfigTable(entries, path: key(name))
    }

    /// The tables of an array of tables such as `[[model.layers]]`, each with its index in its path.
    public func tables(_ name: String) throws -> [ConfigTable] {
        guard let value = value(name) else { return [] }
        guard case let .array(items) = value else { throw typeError(name, "an array of tables ([[\(key(name))]])", value) }
        return try items.enumerated().map { index, item in
            guard case let .table(entries) = item else { throw DescriptionError("\(key(name))[\(index)] must be a table") }
            return ConfigTable(entries, path: "\(key(name))[\(index)]")
        }
    }
}
