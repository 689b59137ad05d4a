import ArgumentParser
import Communication
import Foundation
import Training

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the test loss and accuracy of a checkpoint, or of a run folder's model.safetensors (any number of ranks).",
        discussion: """
            Examples:
              convnet-dist evaluate --checkpoint runs/mnist/checkpoints/step-00004690.safetensors
              mpirun -np 2 convnet-dist evaluate --checkpoint runs/mnist/model.safetensors --json
            """)

    @Option(help: "Checkpoint file (safetensors) written by train, or a run folder's model.safetensors (read with the config.toml beside it).")
    var checkpoint: String

    @OptionGroup var data: DataOptions

    @OptionGroup var compute: ThreadOptions

    @OptionGroup var memory: MemoryOptions

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    @Option(parsing: .unconditional, help: "Also print the softmax outputs of the first N test images.")
    var outputs: Int = 0

    func validate() throws {
        if outputs < 0 { throw ValidationError("--outputs must not be negative, got \(outputs)") }
    }

    func run() throws {
        let communicator = makeCommunicator()
        runOnEveryRank(communicator) {
            let result = try CheckpointEvaluation.run(
                checkpointPath: checkpoint,
                dataDirectory: data.directory(for:), dataFormat: data.dataFormat,
                threads: compute.perRank(communicator),
                outputCount: outputs, budget: try memory.budget(communicator), communicator: communicator)
            guard communicator.isRoot else { return }
            let stats = result.statistics, position = result.checkpoint.position
            if json {
                var object: [String: Any] = ["checkpoint": checkpoint, "test_loss": stats.meanLoss, "test_accuracy": stats.accuracy,
                                             "samples": stats.count]
                if !result.plainWeights {
                    (object["epoch"], object["step"], object["global_step"]) = (position.epoch, position.step, position.globalStep)
                }
                if outputs > 0 { object["outputs"] = result.outputs.map { $0.map(Double.init) } }
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else {
                print("\(checkpoint): \(result.plainWeights ? "final weights" : "global step \(position.globalStep)") - test_loss: \(String(format: "%.4f", stats.meanLoss))"
                      + " - test_accuracy: \(String(format: "%.4f", stats.accuracy)) (\(stats.count) images)")
                for (index, row) in result.outputs.enumerated() {
                    print("test image \(index): " + row.map { String(format: "%.6f", $0) }.joined(separator: " "))
                }
            }
        }
    }
}
