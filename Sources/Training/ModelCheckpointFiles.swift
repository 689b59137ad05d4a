#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import ConvNetCore
import Foundation

/// Where model_checkpoint's files go: names made by `CheckpointFilePath` (relative, inside the run
/// folder), their folders created as real folders (a link or a file in the way is refused, never
/// followed out of the run folder), each name recorded in the folder's `RunManifest` before its
/// file is written (so `--overwrite` removes it with the run), the weights written atomically.
struct ModelCheckpointFiles {
    let runDirectory: String
    /// Names already in the manifest (this process's saves; `best.safetensors` is listed at the run's start).
    private var recorded: Set<String> = [ModelCheckpoint.fileName]

    init(runDirectory: String) { self.runDirectory = runDirectory }

    /// Writes the weights and state to each of `names` (rank 0 only).
    mutating func save(_ names: [String], model: Sequential, parameters: FloatBuffer, state: FloatBuffer) throws {
        for name in names {
            try makeFolders(of: name)
            if !recorded.contains(name) {
                try RunManifest.record(name, folder: runDirectory)
                recorded.insert(name)
            }
            try WeightsFile.save(model: model, parameters: parameters, state: state,
                                 path: (runDirectory as NSString).appendingPathComponent(name))
        }
    }

    private func makeFolders(of name: String) throws {
        var folder = ""
        for part in name.split(separator: "/").dropLast() {
            folder += (folder.isEmpty ? "" : "/") + part
            let path = (runDirectory as NSString).appendingPathComponent(folder)
            var info = stat()
            if lstat(path, &info) == 0 {
                guard info.st_mode & S_IFMT == S_IFDIR else {
                    throw TrainingError("\(path) is \(info.st_mode & S_IFMT == S_IFLNK ? "a link" : "a file"), not a folder: model_checkpoint "
                                        + "writes \(name) only inside the run folder; move it away or change the callback's filepath")
                }
            } else if mkdir(path, 0o755) != 0 && errno != EEXIST {
                throw TrainingError("cannot create \(path) for model_checkpoint's \(name): \(String(cString: strerror(errno)))")
            }
        }
    }
}
