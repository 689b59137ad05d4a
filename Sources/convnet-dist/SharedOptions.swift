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

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func perRank(_ communicator: any Communicator) -> Int {
        threads ?? TrainingOptions.defaultThreads(ranksOnThisNode: communicator.localSize)
    }
}
