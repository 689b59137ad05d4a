import ConvNetCore
import Foundation
import SafeTensors

/// Model weights as safetensors, one tensor per named view in Keras layout (`conv2d_1.kernel`, ...),
/// so NumPy, Python's `safetensors` and Keras read them without transposes.
public enum WeightsFile {
    public static func tensors(of model: Sequential, _ buffer: FloatBuffer, prefix: String = "") -> [(name: String, tensor: SafeTensor)] {
        model.parameterLayout.views.map { view in
            (prefix + view.name, SafeTensor(shape: view.shape, values: Array(buffer.buffer[view.range])))
        }
    }

    /// Writes atomically: a temporary file in the same folder, flushed to disk, then renamed over
    /// `path`, so a crash leaves either the old file or the new one, never a torn one.
    public static func writeAtomically(_ data: Data, to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let temporary = (directory.isEmpty ? "." : directory) + "/.\((path as NSString).lastPathComponent).tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: nil),
              let handle = FileHandle(forWritingAtPath: temporary) else {
            throw TrainingError("cannot write \(temporary)")
        }
        do {
            try handle.write(contentsOf: data)
            try handle.synchronize()
            try handle.close()
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw TrainingError("cannot write \(path): \(error.localizedDescription)")
        }
        guard rename(temporary, path) == 0 else {
            try? FileManager.default.removeItem(atPath: temporary)
            throw TrainingError("cannot move \(temporary) to \(path): \(String(cString: strerror(errno)))")
        }
        let folder = open(directory.isEmpty ? "." : directory, O_RDONLY)
        if folder >= 0 {
            fsync(folder)
            close(folder)
        }
    }

    public static func save(model: Sequential, parameters: FloatBuffer, path: String, metadata: [String: String] = [:]) throws {
        try writeAtomically(SafeTensors.encode(tensors(of: model, parameters), metadata: metadata), to: path)
    }

    /// Loads weights saved by `save` (or exported from Keras with the same names) into `parameters`,
    /// after checking every name and shape.
    public static func load(path: String, model: Sequential, into parameters: FloatBuffer) throws {
        let file: SafeTensors.File
        do { file = try SafeTensors.read(path: path) } catch { throw TrainingError("\(error)") }
        for view in model.parameterLayout.views {
            guard let tensor = file.tensors[view.name] else {
                throw TrainingError("\(path): no tensor \(view.name); the file holds a different architecture")
            }
            guard tensor.shape == view.shape else {
                throw TrainingError("\(path): \(view.name) has shape \(tensor.shape), the model expects \(view.shape)")
            }
            (parameters.pointer + view.offset).update(from: tensor.values, count: view.count)
        }
    }
}
