import Foundation

/// One row of `metrics.csv`: the state after an epoch (or after a shortened last epoch).
public struct EpochMetrics: Equatable, Sendable {
    public var epoch: Int
    public var steps: Int
    public var trainLoss: Double
    public var trainAccuracy: Double
    /// Nil when the data set has no test set (the columns are then left empty).
    public var testLoss: Double?
    public var testAccuracy: Double?
    /// Wall time of the epoch's training steps (evaluation excluded).
    public var epochSeconds: Double
    public var samplesPerSecond: Double
    /// Wall time of the evaluations after the epoch (validation and test sets).
    public var evaluationSeconds: Double
    /// On the samples held out by `validation_split`; nil without one.
    public var validationLoss: Double?
    public var validationAccuracy: Double?
    /// The learning rate of the epoch's last step (written with `reduce_lr_on_plateau`).
    public var learningRate: Float?

    public static let csvHeader =
        "epoch,steps,train_loss,train_accuracy,test_loss,test_accuracy,epoch_seconds,samples_per_second,eval_seconds"
    /// Runs with a validation split add these columns at the end (runs without keep the file as it was).
    public static let validationColumns = "val_loss,val_accuracy"

    public static func csvHeader(validation: Bool) -> String { csvHeader + (validation ? "," + validationColumns : "") }

    /// The row without the validation columns.
    public var csvRow: String {
        [String(epoch), String(steps), fixed(trainLoss, 6), fixed(trainAccuracy, 6), testLoss.map { fixed($0, 6) } ?? "",
         testAccuracy.map { fixed($0, 6) } ?? "", fixed(epochSeconds, 3), fixed(samplesPerSecond, 1), fixed(evaluationSeconds, 3)]
            .joined(separator: ",")
    }

    /// The row for a file with (`validation`) or without the validation columns; an epoch without
    /// validation figures leaves them empty.
    public func csvRow(validation: Bool) -> String {
        guard validation else { return csvRow }
        return csvRow + "," + (validationLoss.map { fixed($0, 6) } ?? "") + "," + (validationAccuracy.map { fixed($0, 6) } ?? "")
    }
}

func fixed(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }

/// Appends epoch rows to `RUN_DIR/metrics.csv`. A resumed run keeps the rows of the epochs its
/// checkpoint had finished (those before `resumingAt`).
///
/// The validation columns are there when the run has a split, or when a resumed file has them
/// already (a split dropped at resume); then `learning_rate` when the run has a
/// `reduce_lr_on_plateau` callback (or the resumed file has the column). Rows kept from before a
/// column was added get it empty.
public final class MetricsLog {
    private let log: CSVLog
    private let validation: Bool
    private let learningRate: Bool
    public var path: String { log.path }
    public static let learningRateColumn = "learning_rate"

    public init(runDirectory: String, resumingAt epoch: Int? = nil, validation: Bool = false, learningRate: Bool = false) throws {
        let path = (runDirectory as NSString).appendingPathComponent("metrics.csv")
        let existing = epoch == nil ? nil : (try? String(contentsOfFile: path, encoding: .utf8))
        let oldColumns = existing.map { $0.prefix { $0 != "\n" }.split(separator: ",", omittingEmptySubsequences: false).map(String.init) } ?? []
        self.validation = validation || oldColumns.contains("val_loss")
        self.learningRate = learningRate || oldColumns.contains(Self.learningRateColumn)
        let header = EpochMetrics.csvHeader(validation: self.validation) + (self.learningRate ? "," + Self.learningRateColumn : "")
        let columns = header.split(separator: ",").map(String.init)
        log = try CSVLog(runDirectory: runDirectory, name: "metrics.csv", header: header,
                         keep: epoch.map { next in { (CSVLog.leadingInteger($0) ?? Int.max) < next } }, reshape: { row in
            let cells = Dictionary(zip(oldColumns, row.split(separator: ",", omittingEmptySubsequences: false).map(String.init)),
                                   uniquingKeysWith: { a, _ in a })
            return columns.map { cells[$0] ?? "" }.joined(separator: ",")
        })
    }

    public func append(_ metrics: EpochMetrics) throws {
        try log.append(metrics.csvRow(validation: validation) + (learningRate ? "," + (metrics.learningRate.map { "\($0)" } ?? "") : ""))
    }
}
