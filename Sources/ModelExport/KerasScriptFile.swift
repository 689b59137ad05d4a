import ConvNetCore
import Foundation
import Training

/// `export --format keras-script`: a Python file that builds the same Keras 3 model and loads the
/// checkpoint's weights by name (`KerasScript`).
public enum KerasScriptFile: ExportFormat {
    public static let name = "keras-script"

    public static func file(of checkpoint: Checkpoint, model: Sequential, checkpointPath: String, outputPath: String) throws -> (data: Data, what: String) {
        let absolute = URL(fileURLWithPath: checkpointPath).standardizedFileURL.path
        let source = try KerasScript.source(model: model, optimizer: checkpoint.config.optimizer, loss: checkpoint.config.loss,
                                           checkpointPath: absolute)
        return (Data(source.utf8), "Keras script (run: python \(outputPath) [checkpoint])")
    }
}
