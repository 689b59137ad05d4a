import ConvNetCore
import Foundation
import Training

/// `export --format onnx`: an ONNX model (opset 13) of the network in inference mode, input `[N, H, W, C]`.
public enum ONNXFile: ExportFormat {
    public static let name = "onnx"

    public static func file(of checkpoint: Checkpoint, model: Sequential, checkpointPath: String, outputPath: String) throws -> (data: Data, what: String) {
        let data = try ONNXExport.serialized(model, parameters: checkpoint.parameters, state: checkpoint.state,
                                             docString: "convnet-dist checkpoint \(checkpointPath), global step \(checkpoint.position.globalStep)")
        return (data, "ONNX model (opset \(ONNXExport.opset); "
            + "input \"\(ONNXExport.inputName)\" [N, \(model.inputShape.dimensions.map(String.init).joined(separator: ", "))], "
            + "output \"\(ONNXExport.outputName)\" [N, \(model.classes)])")
    }
}
