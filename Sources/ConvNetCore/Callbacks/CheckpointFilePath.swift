import Foundation

/// Keras's `ModelCheckpoint(filepath=...)`: a file name relative to the run folder, with the
/// placeholders of Python's `str.format` that Keras fills in before each save: `{epoch}` (1-based),
/// `{batch}` (1-based step within the epoch, with a step `save_freq`) and the figures of
/// `Monitor.figures` (`{val_loss:.4f}`). A spec is `[0][width][.precision]type` with type `d`
/// (`epoch` and `batch` only), `f`, `e` or `g`, formatted as Python formats it (printf's rules);
/// `{{` and `}}` are literal braces.
///
/// Contract: every name it makes stays inside the run folder and off the run's own files: the
/// pattern is relative, no part of it is empty, `.`, `..` or hidden (`.convnet-run`, temporaries),
/// its first folder is not one the run writes (`checkpoints`, `tensorboard`), it is not
/// `model.safetensors`, and it ends in `.safetensors`; a placeholder only ever yields digits,
/// signs, `.`, `e` and `nan`/`inf`, never a `/`.
public struct CheckpointFilePath: Equatable, Sendable {
    /// The pattern as configured.
    public let pattern: String
    private let pieces: [Piece]

    private enum Piece: Equatable, Sendable {
        case text(String)
        /// A placeholder; `format` is the printf format of its spec (nil: Python's `str()`).
        case field(name: String, format: String?)
    }

    /// The names a placeholder may use.
    public static let names = ["epoch", "batch"] + Monitor.figures
    private static let ownFolders = ["checkpoints", "tensorboard"]

    /// Reads `pattern`; errors name `key` and say what to write instead.
    public init(_ pattern: String, key: String) throws {
        self.pattern = pattern
        pieces = try Self.parse(pattern, key: key)
        let parts = pattern.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if let bad = parts.first(where: { $0.isEmpty || $0.hasPrefix(".") }) {
            let why = pattern.hasPrefix("/") ? "an absolute path" : bad.isEmpty ? "an empty folder name"
                : bad == ".." ? "a \"..\" part, which leaves the run folder" : "a part \"\(bad)\" that starts with a dot"
            throw DescriptionError("\(key) \"\(pattern)\" has \(why): give a name inside the run folder, e.g. \"weights-{epoch:02d}.safetensors\"")
        }
        if parts.count > 1, Self.ownFolders.contains(parts[0]) {
            throw DescriptionError("\(key) \"\(pattern)\" writes into \(parts[0])/, which the run manages: pick another folder name")
        }
        guard pattern.hasSuffix(".safetensors"), pattern != "model.safetensors" else {
            throw DescriptionError("\(key) \"\(pattern)\" must end in .safetensors (the weights are saved as safetensors) and not be model.safetensors")
        }
    }

    /// The placeholders' names, in order.
    public var fields: [String] { pieces.compactMap { if case let .field(name, _) = $0 { name } else { nil } } }

    /// The file name for a save after 1-based `epoch` (and step `batch` within it, for a step
    /// `save_freq`), with the figures by their Keras names (a missing one prints as `nan`).
    public func name(epoch: Int, batch: Int?, figures: [String: Double]) -> String {
        pieces.map { piece in
            switch piece {
            case let .text(text): return text
            case let .field(name, format):
                let whole = name == "epoch" ? epoch : name == "batch" ? batch ?? 0 : nil
                if let whole { return format.map { $0.hasSuffix("d") ? String(format: $0, whole) : String(format: $0, Double(whole)) } ?? String(whole) }
                let value = figures[name] ?? .nan
                guard let format else { return Self.pythonString(value) }
                return value.isFinite ? String(format: format, value) : Self.pythonNonFinite(value, format: format)
            }
        }.joined()
    }

    /// Whether the two patterns name the same file for some save: the same pattern, or one that
    /// renders alike at a few epochs, steps and figures (`{epoch}` and `{epoch:02d}` from epoch 10 on).
    public func clashes(with other: CheckpointFilePath) -> Bool {
        pattern == other.pattern || [(1, 0.5), (12, 0.123456), (123, 12.5), (1234, 1e-5)].contains { epoch, value in
            let figures = Dictionary(uniqueKeysWithValues: Self.names.map { ($0, value) })
            return name(epoch: epoch, batch: epoch, figures: figures) == other.name(epoch: epoch, batch: epoch, figures: figures)
        }
    }

    /// Python's `str(float)`: shortest round-trip digits, as Swift's description, with Python's
    /// spelling of the non-finite values.
    private static func pythonString(_ value: Double) -> String {
        value.isNaN ? "nan" : value.isInfinite ? (value < 0 ? "-inf" : "inf") : "\(value)"
    }

    /// Python's `format(value, spec)` for a NaN or an infinity: `nan`, `inf` or `-inf` whatever the
    /// type and precision (printf would write `-nan` for a NaN with its sign bit set, as a diverged
    /// loss has on x86), padded to the width with spaces, or with zeros after the sign under `0`.
    private static func pythonNonFinite(_ value: Double, format: String) -> String {
        let text = pythonString(value), spec = format.dropFirst()
        let zero = spec.hasPrefix("0"), width = Int(spec.drop { $0 == "0" }.prefix { $0.isNumber }) ?? 0
        guard text.count < width else { return text }
        let padding = String(repeating: zero ? "0" : " ", count: width - text.count)
        return zero && text.hasPrefix("-") ? "-" + padding + text.dropFirst() : padding + text
    }

    private static func parse(_ pattern: String, key: String) throws -> [Piece] {
        var pieces: [Piece] = [], text = "", rest = Substring(pattern)
        while let c = rest.first {
            rest = rest.dropFirst()
            if c == "}" {
                guard rest.first == "}" else { throw DescriptionError("\(key) \"\(pattern)\" has a single }: write }} for a literal brace") }
                rest = rest.dropFirst()
                text.append("}")
            } else if c != "{" {
                text.append(c)
            } else if rest.first == "{" {
                rest = rest.dropFirst()
                text.append("{")
            } else {
                guard let close = rest.firstIndex(of: "}") else { throw DescriptionError("\(key) \"\(pattern)\" has a { without its }") }
                if !text.isEmpty { pieces.append(.text(text)); text = "" }
                pieces.append(try field(String(rest[..<close]), pattern: pattern, key: key))
                rest = rest[rest.index(after: close)...]
            }
        }
        if !text.isEmpty { pieces.append(.text(text)) }
        return pieces
    }

    /// `name` or `name:spec`, checked.
    private static func field(_ body: String, pattern: String, key: String) throws -> Piece {
        let name = String(body.prefix { $0 != ":" }), spec = body.dropFirst(name.count + 1)
        guard names.contains(name) else {
            throw DescriptionError("\(key) \"\(pattern)\": unknown placeholder {\(body)} (known: \(names.joined(separator: ", ")))")
        }
        guard body.contains(":") else { return .field(name: name, format: nil) }
        let digits = { (s: Substring) in s.prefix { $0.isNumber } }
        var rest = spec
        let zero = rest.first == "0" ? "0" : ""
        rest = rest.dropFirst(zero.count)
        let width = digits(rest)
        rest = rest.dropFirst(width.count)
        var precision: Substring?
        if rest.first == "." { precision = digits(rest.dropFirst()); rest = rest.dropFirst(1 + precision!.count) }
        let type = rest
        let whole = name == "epoch" || name == "batch"
        guard ["d", "f", "e", "g"].contains(type), type != "d" || (whole && precision == nil), precision.map({ !$0.isEmpty }) ?? true,
              (Int(width) ?? 0) <= 40, (precision.flatMap { Int($0) } ?? 0) <= 40 else {
            throw DescriptionError("\(key) \"\(pattern)\": {\(body)} is not a supported format (use {\(name)}"
                                   + (whole ? ", {\(name):02d}" : "") + ", {\(name):.4f}, {\(name):.3e} or {\(name):.4g})")
        }
        let length = type == "d" ? "l" : ""
        return .field(name: name, format: "%" + zero + width + (precision.map { "." + $0 } ?? "") + length + type)
    }
}
