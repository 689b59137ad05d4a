import KindRegistry

/// How a config table names a registered kind: by the registry's `key` (`type = "conv2d"`,
/// `name = "adam"`), written first, before the kind's own keys.
extension Registry {
    /// The kind that `config` names, or the one called `fallback` when the key is absent.
    public func kind(in config: ConfigTable, fallback: String? = nil) throws -> Kind {
        guard let name = try config.string(key) ?? fallback else {
            throw DescriptionError("missing key \(config.key(key)) (one of \(names.joined(separator: ", ")))")
        }
        return try kind(named: name, key: config.key(key), error: DescriptionError.init)
    }

    /// The table that names kind `name` and holds `entries`, the kind's own keys.
    public func config(name: String, _ entries: [ConfigEntry]) -> [ConfigEntry] {
        [ConfigEntry(key, .string(name))] + entries
    }
}
