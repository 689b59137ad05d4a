import Communication
import ConvNetCore
import ConvNetData

/// An epoch's figures, as rank 0 records them.
struct EvaluatedEpoch {
    /// The `metrics.csv` row.
    var metrics: EpochMetrics
    /// Test-set confusion matrix (rows: true class, columns: predicted); nil without a test set.
    var confusion: [[Int]]?
}

/// The evaluation after an epoch: every rank scores its validation shard (with a split), then rank 0
/// scores the test set (when there is one) and prints the epoch line. A collective: every rank
/// calls `run` at the same point.
final class EpochEvaluation {
    private let setup: RunSetup
    private let communicator: any Communicator
    private let progress: ProgressReporter
    private let epochs: Int
    /// Rank 0's buffer for the test set's softmax outputs, reused every epoch.
    private var testOutputs: FloatBuffer?

    init(setup: RunSetup, communicator: any Communicator, progress: ProgressReporter, epochs: Int) {
        self.setup = setup
        self.communicator = communicator
        self.progress = progress
        self.epochs = epochs
    }

    /// Evaluates the weights after `position.step` steps of `position.epoch`; returns rank 0's
    /// figures (nil on the other ranks).
    func run(after position: TrainingPosition) -> EvaluatedEpoch? {
        let start = ContinuousClock.now
        let step = setup.step
        let validation = setup.validation?.run(runner: step.runner, model: setup.model, parameters: step.parameters.pointer,
                                               state: step.state.pointer, communicator: communicator)
        guard communicator.isRoot else { return nil }
        let tested = setup.test.map { evaluateWithConfusion($0) }
        let totals = position.epochTotals
        var metrics = EpochMetrics(
            epoch: position.epoch, steps: position.step, trainLoss: totals.meanLoss, trainAccuracy: totals.accuracy,
            testLoss: tested?.0.meanLoss, testAccuracy: tested?.0.accuracy, epochSeconds: position.epochSeconds,
            samplesPerSecond: Double(totals.count) / position.epochSeconds, evaluationSeconds: start.secondsAgo)
        if let validation {
            metrics.validationLoss = validation.meanLoss
            metrics.validationAccuracy = validation.accuracy
        }
        progress.epochDone(metrics, epochs: epochs)
        return EvaluatedEpoch(metrics: metrics, confusion: tested?.1)
    }

    /// Loss (with the regularisation penalty, as Keras reports it), accuracy and confusion matrix
    /// (rows: true class, columns: predicted) over a set held whole.
    func evaluateWithConfusion(_ set: LabelledImages) -> (BatchStatistics, [[Int]]) {
        let model = setup.model, parameters = setup.step.parameters, classes = model.classes
        if testOutputs?.count != set.count * classes { testOutputs = FloatBuffer(count: set.count * classes) }
        let outputs = testOutputs!
        var stats = setup.step.runner.evaluate(sampleCount: set.count, parameters: parameters.pointer, state: setup.step.state.pointer,
                                               probabilities: outputs.pointer, fill: set.filler)
        stats.lossSum += model.regularizationPenalty(parameters.pointer) * Double(stats.count)
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
        for n in 0..<set.count {
            confusion[Int(set.labels[n])][LossMath.argmax(outputs.pointer + n * classes, count: classes)] += 1
        }
        return (stats, confusion)
    }
}
