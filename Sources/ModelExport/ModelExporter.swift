import ConvNetCore
import ConvNetData
import Foundation
import Training

/// The file formats a checkpoint can be exported to.
public enum ExportFormat: String, CaseIterable, Sendable {
    /// An ONNX model (opset 13) of the network in inference mode, input `[N, H, W, C]`.
    case onnx
    /// A Python file that builds the same Keras 3 model and loads the checkpoint's weights by name.
    case kerasScript = "keras-script"

    public static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// "Model out": a checkpoint's network as a file other tools run.
public enum ModelExporter {
    /// Reads the checkpoint at `checkpointPath` (with all of `Checkpoint.load`'s checks), converts its
    /// model and writes it to `outputPath` atomically: on any error nothing is written, not even a
    /// partial file. Returns one line describing what was written.
    public static func export(checkpointPath: String, format: ExportFormat, outputPath: String) throws -> String {
        try checkWritable(outputPath)
        let checkpoint = try Checkpoint.load(path: checkpointPath)
        let model = try Sequential(checkpoint.config.model)
        let data: Data
        let what: String
        switch format {
        case .onnx:
            data = try ONNXExport.serialized(model, parameters: checkpoint.parameters, state: checkpoint.state,
                                             docString: "convnet-dist checkpoint \(checkpointPath), global step \(checkpoint.position.globalStep)")
            what = "ONNX model (opset \(ONNXExport.opset); "
                + "input \"\(ONNXExport.inputName)\" [N, \(model.inputShape.dimensions.map(String.init).joined(separator: ", "))], "
                + "output \"\(ONNXExport.outputName)\" [N, \(model.classes)])"
        case .kerasScript:
            let absolute = URL(fileURLWithPath: checkpointPath).standardizedFileURL.path
            data = Data(try KerasScript.source(model: model, optimizer: checkpoint.config.optimizer, loss: checkpoint.config.loss,
                                                     checkpointPath: absolute).utf8)
            what = "Keras script (run: python \(outputPath) [checkpoint])"
        }
        do { try AtomicFile.write(data, to: outputPath) } catch { throw ExportError("\(error)") }
        return "wrote \(outputPath): \(what)"
    }

    /// Refuses an output that is a folder or lies in a missing folder, before any work, and in
    /// terms of the path given (not of the temporary file the atomic write would name).
    static func checkWritable(_ path: String) throws {
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
