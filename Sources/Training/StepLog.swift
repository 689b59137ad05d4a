/// `RUN_DIR/steps.csv`: global step, epoch, step in epoch, and that step's global-batch loss,
/// accuracy and sample count, and the learning rate it applied, one row every N steps (`--log-every N`).
/// A resumed run keeps the rows up to its checkpoint's global step.
public final class StepLog {
    public static let header = "global_step,epoch,step,loss,accuracy,samples,learning_rate"
    private let log: CSVLog

    public init(runDirectory: String, resumingAfter globalStep: Int? = nil) throws {
        log = try CSVLog(runDirectory: runDirectory, name: "steps.csv", header: StepLog.header,
                         keep: globalStep.map { last in { (CSVLog.leadingInteger($0) ?? Int.max) <= last } })
    }

    public func append(globalStep: Int, epoch: Int, step: Int, loss: Double, accuracy: Double, samples: Int,
                       learningRate: Float) throws {
        try log.append("\(globalStep),\(epoch),\(step),\(String(format: "%.9g", loss)),\(String(format: "%.6f", accuracy)),\(samples),\(learningRate)")
    }
}
