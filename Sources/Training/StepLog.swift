import Foundation

/// `RUN_DIR/steps.csv`: global step, epoch, step in epoch, and that step's global-batch loss,
/// accuracy and sample count, and the learning rate it applied, one row every N steps (`--log-every N`).
public final class StepLog {
    public static let header = "global_step,epoch,step,loss,accuracy,samples,learning_rate"
    private let handle: FileHandle

    public init(runDirectory: String) throws {
        let path = (runDirectory as NSString).appendingPathComponent("steps.csv")
        guard FileManager.default.createFile(atPath: path, contents: Data((StepLog.header + "\n").utf8)),
              let handle = FileHandle(forWritingAtPath: path) else { throw TrainingError("cannot write \(path)") }
        handle.seekToEndOfFile()
        self.handle = handle
    }

    deinit { try? handle.close() }

    public func append(globalStep: Int, epoch: Int, step: Int, loss: Double, accuracy: Double, samples: Int, learningRate: Float) {
        let row = "\(globalStep),\(epoch),\(step),\(String(format: "%.9g", loss)),\(String(format: "%.6f", accuracy)),\(samples),\(learningRate)\n"
        handle.write(Data(row.utf8))
    }
}
