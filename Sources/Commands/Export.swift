import ArgumentParser
import ModelExport

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a checkpoint's model as an ONNX model or as a Keras script.",
        discussion: """
            onnx: opset 13, inference mode; input "input" [N, H, W, C] (NHWC, as the model takes it),
            output "output" [N, classes] (what evaluate --outputs prints: softmax probabilities).
            keras-script: a Python file that builds the same Keras 3 model and loads the weights by name.
            Examples:
              convnet-dist export --checkpoint runs/mnist/checkpoints/step-00004690.safetensors --format onnx --output model.onnx
              convnet-dist export --checkpoint runs/mnist/model.safetensors --format keras-script --output load_model.py
            """)

    @Option(help: "Checkpoint file (safetensors) written by train, or a run folder's model.safetensors (read with the config.toml beside it).")
    var checkpoint: String

    @Option(help: "One of: \(ModelExporter.formats.names.joined(separator: ", ")).")
    var format: String

    @Option(help: "File to write (replaced atomically; nothing is written on error).")
    var output: String

    func validate() throws {
        _ = try ModelExporter.formats.kind(named: format, key: nil, error: ValidationError.init)
    }

    func run() throws {
        try reportingErrors {
            print(try ModelExporter.export(checkpointPath: checkpoint, format: format, outputPath: output))
        }
    }
}
