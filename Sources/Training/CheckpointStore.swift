import Foundation

/// `RUN_DIR/checkpoints/`: numbered checkpoint files, a `latest` file naming the newest, and at
/// most `keep` files. Every write is atomic (see `WeightsFile.writeAtomically`), and `latest` moves
/// only after the file it names is safely on disk, so a crash at any moment leaves the previous
/// checkpoint whole and `latest` pointing at a complete file.
public struct CheckpointStore {
    public let runDirectory: String
    public let directory: String
    public let keep: Int

    public init(runDirectory: String, keep: Int) {
        self.runDirectory = runDirectory
        directory = (runDirectory as NSString).appendingPathComponent("checkpoints")
        self.keep = keep
    }

    public var latestPointer: String { (directory as NSString).appendingPathComponent("latest") }

    public func fileName(globalStep: Int) -> String { String(format: "step-%08d.safetensors", globalStep) }

    /// Writes `data` as the checkpoint of `globalStep` (listed first in the run folder's
    /// `RunManifest`, which a run has begun), points `latest` at it, prunes old ones; returns the path written.
    @discardableResult
    public func save(_ data: Data, globalStep: Int) throws -> String {
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw TrainingError("cannot create \(directory): \(plainDescription(error))")
        }
        let name = fileName(globalStep: globalStep)
        try RunManifest.record("checkpoints/" + name, folder: runDirectory)
        let path = (directory as NSString).appendingPathComponent(name)
        try WeightsFile.writeAtomically(data, to: path)
        try WeightsFile.writeAtomically(Data((name + "\n").utf8), to: latestPointer)
        prune(keeping: name)
        return path
    }

    /// The newest checkpoint of the run, per `latest` (a small regular file: a folder or a FIFO
    /// there is named as such, and a FIFO is never opened, which would block).
    public func latest() throws -> String {
        var info = stat()
        guard stat(latestPointer, &info) == 0 else {
            throw TrainingError("no checkpoint to resume from: \(latestPointer) does not exist (train with --run-dir \(runDirectory) first, or give --resume PATH)")
        }
        let kind = info.st_mode & S_IFMT
        guard kind == S_IFREG else {
            throw TrainingError("\(latestPointer) is \(kind == S_IFDIR ? "a folder" : "not a regular file"), not the file naming the newest checkpoint: "
                                + "move it away, or give --resume PATH to a checkpoint in \(directory)")
        }
        guard info.st_size <= 4096, let text = try? String(contentsOfFile: latestPointer, encoding: .utf8) else {
            throw TrainingError("\(latestPointer) is damaged (not a checkpoint's name): give --resume PATH to a checkpoint in \(directory)")
        }
        let name = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty, !name.contains("/") else {
            throw TrainingError("\(latestPointer) is damaged (not a checkpoint's name): give --resume PATH to a checkpoint in \(directory)")
        }
        return (directory as NSString).appendingPathComponent(name)
    }

    /// Removes all but the newest `keep` checkpoints (names sort by step) and stray temporary files.
    private func prune(keeping current: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        let checkpoints = names.filter { $0.hasPrefix("step-") && $0.hasSuffix(".safetensors") }.sorted()
        let strayTemporaries = names.filter { $0.hasPrefix(".") && $0.contains(".tmp-") }
        for name in Array(checkpoints.dropLast(keep)) + strayTemporaries where name != current {
            try? FileManager.default.removeItem(atPath: (directory as NSString).appendingPathComponent(name))
        }
    }
}
