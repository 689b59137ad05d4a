import Foundation

/// One row of `metrics.csv`: the state after an epoch (or after a shortened last epoch).
public struct EpochMetrics: Equatable, Sendable {
    public var epoch: Int
    public var steps: Int
    public var trainLoss: Double
    public var trainAccuracy: Double
    public var testLoss: Double
    public var testAccuracy: Double
    /// Wall time of the epoch's training steps (evaluation excluded).
    public var epochSeconds: Double
    public var samplesPerSecond: Double
    public var evaluationSeconds: Double

    public static let csvHeader =
        "epoch,steps,train_loss,train_accuracy,test_loss,test_accuracy,epoch_seconds,samples_per_second,eval_seconds"

    public var csvRow: String {
        [String(epoch), String(steps), fixed(trainLoss, 6), fixed(trainAccuracy, 6), fixed(testLoss, 6),
         fixed(testAccuracy, 6), fixed(epochSeconds, 3), fixed(samplesPerSecond, 1), fixed(evaluationSeconds, 3)]
            .joined(separator: ",")
    }
}

func fixed(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }

/// Appends epoch rows to `RUN_DIR/metrics.csv`. A resumed run keeps the rows of the epochs its
/// checkpoint had finished (those before `resumingAt`).
public final class MetricsLog {
    private let log: CSVLog
    public var path: String { log.path }

    public init(runDirectory: String, resumingAt epoch: Int? = nil) throws {
        log = try CSVLog(runDirectory: runDirectory, name: "metrics.csv", header: EpochMetrics.csvHeader,
                         keep: epoch.map { next in { (CSVLog.leadingInteger($0) ?? Int.max) < next } })
    }

    public func append(_ metrics: EpochMetrics) throws { try log.append(metrics.csvRow) }
}
