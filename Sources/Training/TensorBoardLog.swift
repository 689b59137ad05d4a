import ConvNetCore
import Foundation
import TensorBoard

/// `RUN_DIR/tensorboard`, rank 0's TensorBoard log (`--tensorboard`, `[logging] tensorboard = true`),
/// laid out as Keras's TensorBoard callback lays it out:
///
/// - `train/`: `batch_loss`, `batch_accuracy`, `batch_learning_rate` at the global step of every
///   `steps.csv` row (the step's own figures, as there); after each epoch `epoch_loss`,
///   `epoch_accuracy`, `epoch_learning_rate` (the rate of the next step) and one histogram per
///   weight tensor (`conv2d_1/kernel/histogram`);
/// - `validation/` (with a `validation_split`) and `test/` (with a test set): `epoch_loss` and
///   `epoch_accuracy`.
///
/// Epoch figures are at step `epoch - 1`, as Keras counts epochs from 0. A resumed run first drops
/// the events its checkpoint has not reached (as `steps.csv` and `metrics.csv` drop their rows),
/// then starts a new events file in each folder, so TensorBoard shows one curve. Values reach the
/// files after each epoch and at every checkpoint.
final class TensorBoardLog {
    private let train: EventFileWriter
    private let validation: EventFileWriter?
    private let test: EventFileWriter?

    /// `resumingAt`: the checkpoint's position on resume.
    init(runDirectory: String, resumingAt position: TrainingPosition?, validation hasValidation: Bool, test hasTest: Bool) throws {
        let folder = ((runDirectory as NSString).appendingPathComponent("tensorboard") as NSString)
        let folders = ["train", "validation", "test"].map { folder.appendingPathComponent($0) }
        do {
            if let position { try folders.forEach { try Self.dropEvents(in: $0, after: position) } }
            train = try EventFileWriter(directory: folders[0])
            validation = hasValidation ? try EventFileWriter(directory: folders[1]) : nil
            test = hasTest ? try EventFileWriter(directory: folders[2]) : nil
            for writer in [train, validation, test].compactMap({ $0 }) {
                let relative = "tensorboard/" + ((writer.path as NSString).deletingLastPathComponent as NSString).lastPathComponent
                try RunManifest.record(relative + "/" + (writer.path as NSString).lastPathComponent, folder: runDirectory)
            }
        } catch let error as EventFileError {
            throw Self.readable(error)
        }
    }

    /// A logged step's figures (the `steps.csv` row).
    func step(globalStep: Int, loss: Double, accuracy: Double, learningRate: Float) {
        train.scalar("batch_loss", loss, step: globalStep)
        train.scalar("batch_accuracy", accuracy, step: globalStep)
        train.scalar("batch_learning_rate", Double(learningRate), step: globalStep)
    }

    /// An epoch's figures (the `metrics.csv` row), the learning rate of the next step and the
    /// weights' histograms; then everything reaches the files.
    func epoch(_ metrics: EpochMetrics, learningRate: Float, weights: ParameterLayout, _ parameters: FloatBuffer) throws {
        let step = metrics.epoch - 1
        train.scalar("epoch_loss", metrics.trainLoss, step: step)
        train.scalar("epoch_accuracy", metrics.trainAccuracy, step: step)
        train.scalar("epoch_learning_rate", Double(learningRate), step: step)
        for view in weights.views {
            train.histogram(view.name.replacingOccurrences(of: ".", with: "/") + "/histogram",
                            UnsafeBufferPointer(start: parameters.pointer + view.offset, count: view.count), step: step)
        }
        if let validation, let loss = metrics.validationLoss, let accuracy = metrics.validationAccuracy {
            validation.scalar("epoch_loss", loss, step: step)
            validation.scalar("epoch_accuracy", accuracy, step: step)
        }
        if let test, let loss = metrics.testLoss, let accuracy = metrics.testAccuracy {
            test.scalar("epoch_loss", loss, step: step)
            test.scalar("epoch_accuracy", accuracy, step: step)
        }
        try flush()
    }

    /// Writes what was collected to the files; a failed write (a full disk) ends the run as a
    /// failed `metrics.csv` row does.
    func flush() throws {
        do {
            for writer in [train, validation, test] { try writer?.flush() }
        } catch let error as EventFileError {
            throw Self.readable(error)
        }
    }

    /// An events file's error in one line: the path, the operating system's reason, what to do.
    private static func readable(_ error: EventFileError, advice: String = "make it a writable folder, or train without --tensorboard") -> TrainingError {
        TrainingError(error.what + (error.cause.map { ": " + plainReason($0) } ?? "") + " (TensorBoard log); " + advice)
    }

    /// Keeps, in every events file of `directory`, the events before `position`: batch figures up to
    /// its global step and epoch figures of the epochs before its epoch.
    private static func dropEvents(in directory: String, after position: TrainingPosition) throws {
        for path in EventFile.paths(in: directory) {
            do {
                try EventFile.rewrite(path: path) { event in
                    guard let tag = event.summary.value.first?.tag else { return true }
                    return tag.hasPrefix("batch_") ? event.step <= position.globalStep : event.step < position.epoch - 1
                }
            } catch let error as EventFileError {
                throw readable(error, advice: "move the file out of \(directory) to resume without it")
            }
        }
    }
}
