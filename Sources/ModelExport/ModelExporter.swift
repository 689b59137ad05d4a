import ConvNetCore
import ConvNetData
import Foundation
import KindRegistry
import Training

/// A file format a checkpoint's model can be exported to: one type in one file and one line in
/// `ModelExporter.formats`.
public protocol ExportFormat {
    /// The value of `export --format`, e.g. `onnx`.
    static var name: String { get }
    /// The file's bytes for `checkpoint` (read from `checkpointPath`; `model` is its config's) and a
    /// description of what it holds for the line `export` prints; throws `ExportError` for a model it cannot express.
    static func file(of checkpoint: Checkpoint, model: Sequential, checkpointPath: String, outputPath: String) throws -> (data: Data, what: String)
}

/// "Model out": a checkpoint's network as a file other tools run.
public enum ModelExporter {
    public static let formats = Registry<any ExportFormat.Type>("format", [
        ONNXFile.self,
        KerasScriptFile.self,
    ], name: { $0.name })

    /// Reads the checkpoint at `checkpointPath` (with all of `Checkpoint.load`'s checks), converts its
    /// model to format `format` and writes it to `outputPath` atomically: on any error nothing is
    /// written, not even a partial file. Returns one line describing what was written.
    public static func export(checkpointPath: String, format: String, outputPath: String) throws -> String {
        let format = try formats.kind(named: format, key: nil, error: ExportError.init)
        try checkWritable(outputPath, input: checkpointPath)
        let checkpoint = try Checkpoint.loadModel(path: checkpointPath).checkpoint
        let model = try Sequential(checkpoint.config.model)
        let (data, what) = try format.file(of: checkpoint, model: model, checkpointPath: checkpointPath, outputPath: outputPath)
        do { try AtomicFile.write(data, to: outputPath) } catch { throw ExportError("\(error)") }
        return "wrote \(outputPath): \(what)"
    }

    /// Refuses an output that is a folder or lies in a missing folder, before any work, and in
    /// terms of the path given (not of the temporary file the atomic write would name).
    /// Rule: an output never is its input, never follows a symbolic link and never replaces anything
    /// but a regular file (the atomic rename would swap a device node, say, for a plain file).
    static func checkWritable(_ path: String, input: String) throws {
        guard !path.isEmpty else { throw ExportError("--output is empty; give a file name") }
        var output = stat(), checkpoint = stat()
        if lstat(path, &output) == 0 {
            if output.st_mode & S_IFMT == S_IFLNK { throw ExportError("--output \(path) is a symbolic link; give the file's own path") }
            if stat(input, &checkpoint) == 0, output.st_dev == checkpoint.st_dev, output.st_ino == checkpoint.st_ino {
                throw ExportError("--output \(path) is the checkpoint being exported; give another file name")
            }
            if output.st_mode & S_IFMT != S_IFREG && output.st_mode & S_IFMT != S_IFDIR {
                throw ExportError("--output \(path) is not a regular file; give a file name")
            }
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw ExportError("--output \(path) is a folder; give a file name")
        }
        let folder = (path as NSString).deletingLastPathComponent
        guard folder.isEmpty || (FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) && isDirectory.boolValue) else {
            throw ExportError("cannot write \(path): folder \(folder) does not exist")
        }
    }
}
