import ConvNetCore
import Foundation

/// The memory a run may use (`--max-memory`, default: the machine's available memory), and the
/// check every command makes against it before allocating its buffers.
///
/// Rule: a run estimates its peak memory (`MemoryEstimate`: weights, activations for the largest
/// chunk, the data it holds) before it allocates, and refuses with the figure and the limit. A
/// run that would not fit otherwise dies in `malloc` with SIGABRT, or takes the machine into swap.
public struct MemoryBudget: Sendable, Equatable {
    /// Bytes the run may use.
    public let bytes: Double
    /// Where the figure came from, for the error: "--max-memory 8G" or the default's description.
    public let source: String

    public init(bytes: Double, source: String) {
        self.bytes = bytes
        self.source = source
    }

    /// The default: `MemAvailable` of `/proc/meminfo` (what can be allocated without swapping),
    /// else the physical memory where there is no such file; shared evenly by the `ranks`
    /// processes of a job on this machine. Read before the run loads anything.
    public static func machine(sharedBy ranks: Int = 1) -> MemoryBudget {
        let bytes = availableBytes() ?? Double(ProcessInfo.processInfo.physicalMemory)
        return MemoryBudget(bytes: bytes / Double(max(ranks, 1)),
                            source: "--max-memory, default: the machine's available memory"
                                + (ranks > 1 ? " shared by its \(ranks) ranks" : ""))
    }

    /// `--max-memory TEXT` for each process (nil: the machine's, shared by the job's `ranks` on
    /// it); throws a one-line error for a size it cannot read.
    public static func parse(_ text: String?, flag: String = "--max-memory", ranksOnThisMachine ranks: Int = 1) throws -> MemoryBudget {
        guard let text else { return machine(sharedBy: ranks) }
        guard let bytes = parseSize(text) else {
            throw TrainingError("\(flag) takes a size such as 8G, 512M or 1000000 (bytes), got \"\(text.prefix(40))\"")
        }
        return MemoryBudget(bytes: bytes, source: "\(flag) \(text)")
    }

    /// Bytes in "8G", "1.5GiB", "512M", "64k", "1000000": powers of 1024 for K, M, G, T.
    public static func parseSize(_ text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).uppercased()
        let suffixes: [(String, Double)] = [("TIB", 0x1p40), ("GIB", 0x1p30), ("MIB", 0x1p20), ("KIB", 0x1p10),
                                            ("TB", 0x1p40), ("GB", 0x1p30), ("MB", 0x1p20), ("KB", 0x1p10),
                                            ("T", 0x1p40), ("G", 0x1p30), ("M", 0x1p20), ("K", 0x1p10), ("B", 1)]
        let (number, scale) = suffixes.first { trimmed.hasSuffix($0.0) }
            .map { (String(trimmed.dropLast($0.0.count)), $0.1) } ?? (trimmed, 1)
        guard let value = Double(number.trimmingCharacters(in: .whitespaces)), value.isFinite, value > 0 else { return nil }
        return value * scale
    }

    /// `MemAvailable` in bytes, nil off Linux.
    static func availableBytes() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") }),
              let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "") else { return nil }
        return kilobytes * 1024
    }

    /// Throws unless `estimate` fits; `advice` says what to lower ("lower --batch-size or --threads").
    public func check(_ estimate: MemoryEstimate, advice: String) throws {
        guard estimate.total > bytes else { return }
        throw TrainingError("this run needs about \(estimate.description); the limit is \(MemoryEstimate.format(bytes)) "
                            + "(\(source)): \(advice), or raise --max-memory")
    }
}
