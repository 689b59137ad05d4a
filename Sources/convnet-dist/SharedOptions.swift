import ArgumentParser
import Communication
import Foundation
import Training

/// `--data-dir`, shared by every command that reads a data set.
struct DataOptions: ParsableArguments {
    @Option(help: "Folder with the four IDX files (.gz or plain). Default: $CONVNET_DATA_DIR, else data/<dataset>.")
    var dataDir: String?

    /// The folder given by the flag or the environment, if any.
    var givenDirectory: String? { dataDir ?? ProcessInfo.processInfo.environment["CONVNET_DATA_DIR"] }

    func directory(dataset: String = "mnist") -> String { givenDirectory ?? "data/\(dataset)" }
}

/// `--threads`, shared by every command that computes.
struct ThreadOptions: ParsableArguments {
    @Option(help: "Worker threads per process. Default: this machine's cores divided among its ranks.")
    var threads: Int?

    /// A small multiple of the cores: more threads only add switching, and 100,000 would exhaust the process table.
    static var maximumThreads: Int { max(4, 4 * SystemInfo.onlineCores()) }

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if let threads, threads > Self.maximumThreads {
            throw ValidationError("--threads must be at most \(Self.maximumThreads) (4 per core on this machine), got \(threads)")
        }
    }

    func perRank(_ communicator: any Communicator) -> Int {
        threads ?? TrainingOptions.defaultThreads(ranksOnThisNode: communicator.localSize)
    }
}
