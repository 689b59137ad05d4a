/// The kinds of one sort that a config or a flag names: layer types, losses, optimizers, schedules,
/// data formats, export formats. Each kind is one type in one file; its registry lists it in one
/// line, in the order help texts and errors show them.
///
/// A registry knows its kinds by name only; reading a kind's own keys is the kind's job, so this one
/// lookup and its error serve every sort. (A module of its own, without dependencies: the data
/// formats, which the fuzzers build alone, use it as well as the model's kinds.)
public struct Registry<Kind>: @unchecked Sendable {
    /// What one kind is called in errors: `layer type`, `loss`, `optimizer`, ...
    public let noun: String
    /// The key of a config table that names the kind: `type` for layers, `name` for the others.
    public let key: String
    public let kinds: [Kind]
    private let nameOf: (Kind) -> String

    /// `kinds` are types (or values) that never change; `name` gives each one's name.
    public init(_ noun: String, key: String = "name", _ kinds: [Kind], name: @escaping (Kind) -> String) {
        self.noun = noun
        self.key = key
        self.kinds = kinds
        nameOf = name
    }

    public var names: [String] { kinds.map(nameOf) }

    public func named(_ name: String) -> Kind? { kinds.first { nameOf($0) == name } }

    /// The kind called `name`; else throws `error` of `<key>: unknown <noun> "<name>" (expected one
    /// of a, b, c)`, without `<key>: ` when `key` is nil.
    public func kind(named name: String, key: String?, error: (String) -> any Error) throws -> Kind {
        guard let kind = named(name) else {
            throw error((key.map { "\($0): " } ?? "") + "unknown \(noun) \"\(name)\" (expected one of \(names.joined(separator: ", ")))")
        }
        return kind
    }
}
