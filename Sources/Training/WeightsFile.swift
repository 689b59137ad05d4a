import ConvNetCore
import ConvNetData
import Foundation
import SafeTensors

/// Model weights as safetensors, one tensor per named view in Keras layout (`conv2d_1.kernel`, ...),
/// so NumPy, Python's `safetensors` and Keras read them without transposes.
public enum WeightsFile {
    public static func tensors(of layout: ParameterLayout, _ buffer: FloatBuffer, prefix: String = "") -> [(name: String, tensor: SafeTensor)] {
        layout.views.map { view in
            (prefix + view.name, SafeTensor(shape: view.shape, values: Array(buffer.buffer[view.range])))
        }
    }

    /// See `AtomicFile.write`.
    public static func writeAtomically(_ data: Data, to path: String) throws {
        do { try AtomicFile.write(data, to: path) } catch { throw TrainingError("\(error)") }
    }

    /// The parameters and then the non-trainable state (e.g. `batch_normalization_1.moving_mean`).
    public static func save(model: Sequential, parameters: FloatBuffer, state: FloatBuffer, path: String,
                            metadata: [String: String] = [:]) throws {
        let all = tensors(of: model.parameterLayout, parameters) + tensors(of: model.stateLayout, state)
        try writeAtomically(SafeTensors.encode(all, metadata: metadata), to: path)
    }

    /// Loads weights saved by `save` (or exported from Keras with the same names) into `parameters`,
    /// after checking every name and shape.
    public static func load(path: String, model: Sequential, into parameters: FloatBuffer, state: FloatBuffer) throws {
        let file: SafeTensors.File
        do { file = try SafeTensors.read(path: path) } catch { throw TrainingError("\(error)") }
        try load(file, path: path, layout: model.parameterLayout, into: parameters)
        try load(file, path: path, layout: model.stateLayout, into: state)
    }

    private static func load(_ file: SafeTensors.File, path: String, layout: ParameterLayout, into buffer: FloatBuffer) throws {
        for view in layout.views {
            guard let tensor = file.tensors[view.name] else {
                throw TrainingError("\(path): no tensor \(view.name); the file holds a different architecture")
            }
            guard tensor.shape == view.shape else {
                throw TrainingError("\(path): \(view.name) has shape \(tensor.shape), the model expects \(view.shape)")
            }
            if let bad = tensor.values.firstIndex(where: { !$0.isFinite }) {
                throw TrainingError("\(path): \(view.name) holds a non-finite value (\(tensor.values[bad]) at index \(bad))")
            }
            (buffer.pointer + view.offset).update(from: tensor.values, count: view.count)
        }
    }
}
