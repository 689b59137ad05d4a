import ArgumentParser
import Datasets
import Foundation

struct Download: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Download a data set (MNIST's or Fashion-MNIST's four IDX files, CIFAR-10's binary archive), verified by checksum.",
        discussion: """
            Tries the well-known mirrors in turn, checks every file (for CIFAR-10: the archive, before it is
            unpacked) against its pinned checksum, writes atomically, and keeps files that are already present
            and valid.
            Examples:
              convnet-dist download --data-dir data/mnist
              convnet-dist download --dataset fashion-mnist --data-dir data/fashion-mnist
              convnet-dist download --dataset cifar10 --data-dir data/cifar10
              convnet-dist download --mirror http://127.0.0.1:8000/ --data-dir data/mnist
            """)

    @Option(help: "mnist, fashion-mnist or cifar10.")
    var dataset: String = "mnist"

    @Option(help: "Destination folder. Default: $CONVNET_DATA_DIR, else data/<dataset>.")
    var dataDir: String?

    @Option(help: "Fetch from this base URL instead of the built-in mirrors (repeatable; tried in order).")
    var mirror: [String] = []

    @Option(parsing: .unconditional, help: "Seconds to wait for a server before trying the next mirror.")
    var timeout: Double = 60

    func validate() throws {
        if dataDir == "" { throw ValidationError("--data-dir is empty; give the folder to download into") }
        if DatasetCatalog.named(dataset) == nil {
            throw ValidationError("unknown dataset \"\(dataset)\" (expected \(DatasetCatalog.all.map(\.name).joined(separator: " or ")))")
        }
        if !(timeout > 0 && timeout <= Downloader.maximumTimeout) {
            throw ValidationError("--timeout must be a number of seconds in (0, \(Int(Downloader.maximumTimeout))]")
        }
    }

    func run() throws {
        try reportingErrors {
            let directory = dataDir ?? DataOptions.environmentDirectory ?? "data/\(dataset)"
            try Downloader(dataset: DatasetCatalog.named(dataset)!, directory: directory,
                           mirrors: mirror.isEmpty ? nil : mirror, timeout: timeout).run()
            print("\(dataset) is ready in \(directory)")
        }
    }
}
