import ArgumentParser
import Communication
import ConvNetConfig
import DataFormats
import Foundation
import Training

/// `--data-dir`, shared by every command that reads a data set.
struct DataOptions: ParsableArguments {
    @Option(help: "The data folder (the four IDX files for idx; see --data-format). Default: the config's [data] path, else $CONVNET_DATA_DIR, else data/<dataset>.")
    var dataDir: String?

    /// The folder given by the flag or the environment, if any.
    var givenDirectory: String? { dataDir ?? Self.environmentDirectory }

    /// `CONVNET_DATA_DIR`, an empty value being the same as none (as a shell's `VAR=` means).
    static var environmentDirectory: String? {
        ProcessInfo.processInfo.environment["CONVNET_DATA_DIR"].flatMap { $0.isEmpty ? nil : $0 }
    }

    @Option(help: ArgumentHelp("How the data folder stores the data set: \(DataFormat.kinds.map { "\($0.format) (\($0.layout))" }.joined(separator: "; ")). Default: the config's [data] format, else idx.",
                               valueName: "FORMAT"))
    var dataFormat: String?

    func validate() throws {
        if dataDir == "" { throw ValidationError("--data-dir is empty; give the data folder") }
        if let dataFormat { _ = try DataFormat.registry.kind(named: dataFormat, key: "--data-format", error: ValidationError.init) }
    }

    /// The data folder of `config`: the flag, the config's `[data] path`, the environment, data/<dataset>.
    func directory(for config: ExperimentConfig) -> String {
        dataDir ?? config.dataPath ?? Self.environmentDirectory ?? "data/\(config.dataset)"
    }

    /// The data set of `config` (its folder and format, as the flags override them).
    func files(for config: ExperimentConfig, threads: Int = 1) throws -> any DataSetFiles {
        try DataFormat.files(format: dataFormat ?? config.dataFormat, directory: directory(for: config),
                             options: DataSetOptions(threads: threads, skipBadFiles: config.skipBadFiles))
    }
}

/// `--threads`, shared by every command that computes.
struct ThreadOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Worker threads per process. Default: this machine's cores divided among its ranks.")
    var threads: Int?

    /// A small multiple of the cores: more threads only add switching, and 100,000 would exhaust the process table.
    static var maximumThreads: Int { max(4, 4 * SystemInfo.onlineCores()) }

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        if let threads, threads > Self.maximumThreads {
            throw ValidationError("--threads must be at most \(Self.maximumThreads) (4 per core on this machine), got \(threads)")
        }
    }

    func perRank(_ communicator: any Communicator) -> Int {
        threads ?? TrainingOptions.defaultThreads(ranksOnThisNode: communicator.localSize)
    }
}

/// `--max-memory`, shared by every command that allocates batches (train, evaluate, bench).
struct MemoryOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Refuse to start when a process's estimated peak memory (weights, activations, data) exceeds SIZE (e.g. 8G, 512M, bytes). Default: the machine's available memory, shared by the job's processes on it.",
                               valueName: "SIZE"))
    var maxMemory: String?

    func validate() throws {
        if let maxMemory, MemoryBudget.parseSize(maxMemory) == nil {
            throw ValidationError("--max-memory takes a size such as 8G, 512M or 1000000 (bytes), got \"\(maxMemory.prefix(40))\"")
        }
    }

    /// The limit of each process: the flag's, else the machine's available memory shared by the job's processes on it.
    func budget(_ communicator: any Communicator) throws -> MemoryBudget {
        try MemoryBudget.parse(maxMemory, ranksOnThisMachine: communicator.localSize)
    }
}
