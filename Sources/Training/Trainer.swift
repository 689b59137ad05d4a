import Communication
import ConvNetConfig
import ConvNetCore
import ConvNetData
import DataFormats
import Foundation
import Plots

/// Data-parallel training: each rank holds its shard of the training set, computes the summed
/// gradient of its part of every global batch on its threads, and one allreduce per step (gradients
/// plus loss, correct and sample counters in one buffer) gives every rank the same mean gradient
/// for the same optimizer step. Rank 0 evaluates on the test set and writes the run folder; with a
/// `validation_split`, every rank also evaluates its shard of the held-out samples after each epoch.
/// A data set without a test set (an image folder in the single layout) must have a split, and its
/// epochs report train and validation figures only.
public final class Trainer {
    public let options: TrainingOptions
    public let communicator: any Communicator
    public let model: Sequential
    /// The synchronised optimizer step, shared with `bench`; owns the parameters and state.
    public let step: DataParallelStep
    public var runner: ModelRunner { step.runner }
    public var parameters: FloatBuffer { step.parameters }
    /// Non-trainable state (batch-norm moving statistics).
    public var state: FloatBuffer { step.state }
    public var optimizer: any Optimizer { step.optimizer }
    /// This rank's shard of the training samples (without the held-out validation samples).
    public let training: LabelledImages
    /// This rank's shard of the held-out samples; nil without a `validation_split`.
    public var validation: LabelledImages? { validationEvaluation?.set }
    private let validationEvaluation: ShardedEvaluation?
    /// Only rank 0 loads the test set; nil elsewhere and when the data set has none.
    public let test: LabelledImages?
    public let progress: ProgressReporter

    /// Steps between checks that every rank holds the same weights.
    public static let replicaCheckInterval = 100

    /// This rank's share of each global batch.
    private let share: EvenShare

    public init(options: TrainingOptions, communicator: any Communicator = SingleProcessCommunicator(),
                progress: ProgressReporter.Style) throws {
        let config = options.config
        try config.validate()
        self.options = options
        self.communicator = communicator
        self.progress = ProgressReporter(style: communicator.isRoot ? progress : .silent)
        model = try Sequential(config.model)

        // Read the checkpoint before the data, so a bad checkpoint fails fast.
        let checkpoint = try options.resumeFrom.map { path -> Checkpoint in
            let checkpoint = try Checkpoint.load(path: path)
            guard checkpoint.config.model == config.model else {
                throw CheckpointError("\(path) holds a different architecture than the config being trained")
            }
            guard checkpoint.config.optimizer.name == config.optimizer.name else {
                throw CheckpointError("\(path) holds \(checkpoint.config.optimizer.name) state but the run uses \(config.optimizer.name)")
            }
            return checkpoint
        }

        // Rank 0 owns the run folder: lock it first, so a second process is turned away before it loads anything.
        if communicator.isRoot {
            runFolder = RunFolder(path: options.runDirectory)
            try runFolder!.claim(resuming: options.resumeFrom != nil, overwrite: options.overwrite)
        }
        options.faults.beforeLoading()
        let files = try DataFormat.files(format: config.dataFormat, directory: options.dataDirectory,
                                         options: Self.loadingOptions(options, communicator: communicator, reporter: self.progress))
        classNames = try files.classNames()
        if let checkpoint, let path = options.resumeFrom { try checkpoint.requireSameClasses(as: classNames, path: path) }   // first: a folder in neither layout is refused as such
        let hasTestSet = files.hasTestSet
        guard hasTestSet || config.validationSplit > 0 else {
            throw TrainingError("\(options.dataDirectory) has no test/ folder: add \(options.dataDirectory)/test/<class>/* or set validation_split")
        }
        let shape = config.model.inputShape.dimensions
        let loaded = try files.loadTraining(shard: Shard(index: communicator.rank, count: communicator.size),
                                            expectedShape: shape, classes: config.model.classes)
        (training, validationEvaluation) = try Trainer.holdOut(config.validationSplit, of: loaded, directory: options.dataDirectory)
        test = communicator.isRoot && hasTestSet ? try files.loadTest(shard: .whole, expectedShape: shape, classes: config.model.classes) : nil
        guard training.totalCount > 0 else { throw TrainingError("\(options.dataDirectory): the training set is empty") }
        if let test, test.count == 0 { throw TrainingError("\(options.dataDirectory): the test set is empty") }
        dataFingerprint = DataFingerprint.of(training, communicator: communicator)

        step = DataParallelStep(model: model, config: config, threads: options.threads, communicator: communicator)
        let parameters = step.parameters, optimizer = step.optimizer
        if let checkpoint {
            parameters.buffer.update(fromContentsOf: checkpoint.parameters)
            step.state.buffer.update(fromContentsOf: checkpoint.state)
            for (name, buffer) in optimizer.state { buffer.buffer.update(fromContentsOf: checkpoint.optimizerState[name]!) }
            optimizer.iterations = checkpoint.optimizerIterations
            position = checkpoint.position
            resumedFrom = (options.resumeFrom!, checkpoint.worldSize)
            resumeChanges = try ResumeCheck.changes(from: checkpoint, path: options.resumeFrom!, to: config,
                                                    dataFingerprint: dataFingerprint, trainingCount: training.totalCount)
        } else if let path = options.initialWeights {
            try WeightsFile.load(path: path, model: model, into: parameters, state: step.state)
        } else {
            Initialization.glorotUniform(model, seed: config.seed, into: parameters)
        }
        step.broadcastWeights()
        share = EvenShare(data: training, communicator: communicator, maxBatch: config.batchSize)
        checkpoints = CheckpointStore(runDirectory: options.runDirectory, keep: options.keepCheckpoints)
    }

    /// Class names of the data set, when it has them (image folders): saved in checkpoints and the run folder.
    public let classNames: [String]?

    /// Splits the loaded shard at Keras's `validation_split` point; a split that leaves either part
    /// empty is refused.
    private static func holdOut(_ fraction: Double, of loaded: LabelledImages,
                                directory: String) throws -> (LabelledImages, ShardedEvaluation?) {
        guard fraction > 0, loaded.totalCount > 0 else { return (loaded, nil) }   // an empty file has its own error
        let total = loaded.totalCount, kept = ValidationSplit.trainingCount(of: total, fraction: fraction)
        guard kept > 0 && kept < total else {
            throw TrainingError("validation_split \(fraction) leaves \(kept == 0 ? "no training" : "no validation") sample "
                                + "of the \(total) training samples in \(directory)")
        }
        let (training, validation) = loaded.split(trainingCount: kept)
        return (training, ShardedEvaluation(set: validation))
    }

    /// Seconds from the process's start to the end of its first training step.
    public private(set) var startupSeconds: Double?

    /// Where the run is; advanced by every step.
    public private(set) var position = TrainingPosition.start
    private var resumedFrom: (path: String, worldSize: Int)?
    /// What a resume at an epoch boundary changed (batch size, seed, shuffle, data), to be logged.
    private var resumeChanges: [String] = []
    /// Counts and a hash of the training labels, saved in checkpoints to recognise the data on resume.
    private var dataFingerprint = ""
    /// Rank 0's claim on the run folder (held until the trainer is gone).
    private var runFolder: RunFolder?
    private let checkpoints: CheckpointStore
    /// Ends the job when a step stalls (see `StepWatchdog`); running only inside `run()`.
    private var watchdog: StepWatchdog?

    /// How a run ended.
    public enum Outcome: Equatable { case finished, stopped(checkpoint: String) }

    /// Trains until the configured epochs are done (or `maxSteps`, or a stop request), evaluating
    /// after each epoch and checkpointing after each epoch and every `checkpointEvery` steps.
    /// Returns the per-epoch metrics on rank 0 (empty elsewhere) and how the run ended.
    @discardableResult
    public func run() throws -> (history: [EpochMetrics], outcome: Outcome) {
        let config = options.config
        let log = communicator.isRoot ? try prepareRunDirectory() : nil
        let runDirectory = options.runDirectory, keep = options.keepCheckpoints
        watchdog = options.stepTimeout == 0 ? nil : StepWatchdog(timeout: options.stepTimeout, communicator: communicator) {
            (try? CheckpointStore(runDirectory: runDirectory, keep: keep).latest()).flatMap {
                FileManager.default.fileExists(atPath: $0) ? $0 : nil
            }
        }
        defer { watchdog?.stop() }
        let resumed = resumedFrom != nil
        let stepLog = try options.logEvery.flatMap { _ in
            communicator.isRoot ? try StepLog(runDirectory: options.runDirectory, resumingAfter: resumed ? position.globalStep : nil) : nil
        }
        if let resumedFrom {
            var line = "Resuming from \(resumedFrom.path): epoch \(position.epoch), step \(position.step) (global step \(position.globalStep))"
            if resumedFrom.worldSize != communicator.size {
                line += "; written by \(resumedFrom.worldSize) rank(s), now \(communicator.size): the data order and global batches are unchanged"
            }
            progress.message(line)
            if !resumeChanges.isEmpty {
                progress.message("Changed at the start of epoch \(position.epoch): " + resumeChanges.joined(separator: "; "))
            }
        }
        var history: [EpochMetrics] = []
        if position.epoch > config.epochs {
            progress.message("The run already completed \(config.epochs) epoch(s); pass a larger --epochs to train further.")
        }
        while position.epoch <= config.epochs {
            let epoch = position.epoch
            let schedule = EpochSchedule(totalCount: training.totalCount, batchSize: config.batchSize,
                                         seed: config.seed, epoch: epoch, shuffle: config.shuffle)
            let start = ContinuousClock.now
            let secondsBefore = position.epochSeconds
            var stopRequested = false
            while position.step < schedule.steps {
                let step = position.step
                let (stats, learningRate) = try trainStep(schedule: schedule, step: step, epoch: epoch, stopRequested: &stopRequested)
                position.step += 1
                position.globalStep += 1
                if startupSeconds == nil { startupSeconds = SystemInfo.secondsSinceProgramStart() }
                position.epochTotals = position.epochTotals + stats
                position.epochSeconds = secondsBefore + start.secondsAgo
                progress.stepDone(epoch: epoch, epochs: config.epochs, step: step + 1, steps: schedule.steps,
                                  loss: position.epochTotals.meanLoss, accuracy: position.epochTotals.accuracy,
                                  samples: position.epochTotals.count, elapsed: position.epochSeconds)
                if let every = options.logEvery, position.globalStep % every == 0 {
                    try stepLog?.append(globalStep: position.globalStep, epoch: epoch, step: step + 1, loss: stats.meanLoss,
                                    accuracy: stats.accuracy, samples: stats.count, learningRate: learningRate)
                }
                if position.globalStep % Trainer.replicaCheckInterval == 0 { try checkReplicasAgree() }
                if let every = options.checkpointEvery, position.globalStep % every == 0, position.step < schedule.steps {
                    try saveCheckpoint()
                }
                let reachedMaxSteps = options.maxSteps.map { position.globalStep >= $0 } ?? false
                if stopRequested || reachedMaxSteps {
                    if position.step < schedule.steps || !reachedMaxSteps {
                        let path = try saveCheckpoint()
                        if stopRequested {
                            progress.notice("Stopped on request at epoch \(epoch), step \(position.step) (global step \(position.globalStep)); "
                                             + "checkpoint \(path ?? "written by rank 0"). Resume with: convnet-dist train --resume --run-dir \(options.runDirectory)")
                            return (history, .stopped(checkpoint: path ?? ""))
                        }
                    }
                    break
                }
            }
            let finishedEpoch = position.step == schedule.steps
            try checkReplicasAgree()
            let metrics = try finishEpoch(epoch: epoch, steps: position.step)
            if finishedEpoch {
                position = TrainingPosition(epoch: epoch + 1, step: 0, globalStep: position.globalStep,
                                            epochTotals: BatchStatistics(), epochSeconds: 0)
                try saveCheckpoint()
            }
            if let (metrics, confusion) = metrics, let log {
                try record(metrics, confusion: confusion, in: log)
                history.append(metrics)
            }
            if !finishedEpoch { break }   // --max-steps ended the run inside this epoch
        }
        if communicator.isRoot {
            try WeightsFile.save(model: model, parameters: parameters, state: state,
                                 path: (options.runDirectory as NSString).appendingPathComponent("model.safetensors"))
        }
        reportMemory()
        return (history, .finished)
    }

    /// Every rank evaluates its validation shard (with a split), then rank 0 evaluates on the test
    /// set (when there is one) and prints the epoch line; returns its metrics row and the test-set
    /// confusion matrix (nil without a test set).
    private func finishEpoch(epoch: Int, steps: Int) throws -> (metrics: EpochMetrics, confusion: [[Int]]?)? {
        let evaluationStart = ContinuousClock.now
        let validationStats = validationEvaluation?.run(runner: runner, model: model, parameters: parameters.pointer,
                                                        state: state.pointer, communicator: communicator)
        guard communicator.isRoot else { return nil }
        let tested = test.map { evaluateWithConfusion($0) }
        let totals = position.epochTotals
        var metrics = EpochMetrics(
            epoch: epoch, steps: steps, trainLoss: totals.meanLoss, trainAccuracy: totals.accuracy,
            testLoss: tested?.0.meanLoss, testAccuracy: tested?.0.accuracy, epochSeconds: position.epochSeconds,
            samplesPerSecond: Double(totals.count) / position.epochSeconds, evaluationSeconds: evaluationStart.secondsAgo)
        if let validationStats {
            metrics.validationLoss = validationStats.meanLoss
            metrics.validationAccuracy = validationStats.accuracy
        }
        progress.epochDone(metrics, epochs: options.config.epochs)
        return (metrics, tested?.1)
    }

    /// Loss, accuracy and confusion matrix (rows: true class, columns: predicted) over a set.
    public func evaluateWithConfusion(_ set: LabelledImages) -> (BatchStatistics, [[Int]]) {
        let classes = model.classes
        if testOutputs?.count != set.count * classes { testOutputs = FloatBuffer(count: set.count * classes) }
        let outputs = testOutputs!
        var stats = runner.evaluate(sampleCount: set.count, parameters: parameters.pointer, state: state.pointer,
                                    probabilities: outputs.pointer, fill: set.filler)
        stats.lossSum += model.regularizationPenalty(parameters.pointer) * Double(stats.count)   // Keras reports it too
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
        for n in 0..<set.count {
            confusion[Int(set.labels[n])][LossMath.argmax(outputs.pointer + n * classes, count: classes)] += 1
        }
        return (stats, confusion)
    }

    /// Rank 0's buffer for the test set's softmax outputs, reused every epoch.
    private var testOutputs: FloatBuffer?

    /// `metrics.csv` gets the row; `confusion.csv` (with a test set), `curves.svg` and `confusion.svg`
    /// are rewritten. Without a test set there is no confusion matrix: validation is sharded across
    /// the ranks, and its figures are enough to follow the run.
    private func record(_ metrics: EpochMetrics, confusion: [[Int]]?, in log: MetricsLog) throws {
        try log.append(metrics)
        let folder = options.runDirectory as NSString
        do {
            try confusion.map { try RunFolderPlots.confusionCSV($0).write(toFile: folder.appendingPathComponent("confusion.csv"),
                                                                        atomically: true, encoding: .utf8) }
            _ = try RunFolderPlots.redraw(runDirectory: options.runDirectory)
        } catch {
            throw TrainingError("cannot draw the run folder's pictures: \(plainDescription(error))")
        }
    }

    /// Rank 0 writes the current state to `RUN_DIR/checkpoints`; returns the path there.
    @discardableResult
    private func saveCheckpoint() throws -> String? {
        guard communicator.isRoot else { return nil }
        let checkpoint = Checkpoint(
            config: options.config, position: position, worldSize: communicator.size, dataFingerprint: dataFingerprint,
            classNames: classNames, parameters: parameters.array, state: state.array,
            optimizerIterations: optimizer.iterations,
            optimizerState: Dictionary(uniqueKeysWithValues: optimizer.state.map { ($0.name, $0.buffer.array) }))
        return try checkpoints.save(checkpoint.encoded(model: model), globalStep: position.globalStep)
    }

    /// One synchronised optimizer step on global batch `step` of the epoch. Sets `stopRequested`
    /// when any rank has been asked to stop, so that all ranks stop after the same step.
    private func trainStep(schedule: EpochSchedule, step index: Int, epoch: Int,
                           stopRequested: inout Bool) throws -> (BatchStatistics, learningRate: Float) {
        let globalStep = position.globalStep
        watchdog?.stepStarted(globalStep: globalStep + 1)
        defer { watchdog?.stepFinished() }
        options.faults.inStep(globalStep: globalStep + 1, rank: communicator.rank)
        share.take(schedule.globalBatch(step: index))
        let result = try step.run(sampleCount: share.count, globalStep: globalStep, fill: share.filler,
                                  where: "epoch \(epoch), step \(index + 1) (global step \(globalStep + 1))")
        stopRequested = result.stopRequested
        return (result.statistics, result.learningRate)
    }

    /// Replicas must hold bit-identical weights: each rank hashes its parameters and compares with
    /// rank 0's hash; a rank that differs stops the job, so divergence never goes unnoticed.
    private func checkReplicasAgree() throws {
        let globalStep = position.globalStep
        guard communicator.size > 1 else { return }
        var hash: UInt32 = 2_166_136_261   // FNV-1a over the parameters' bit patterns
        for i in 0..<parameters.count { hash = (hash ^ parameters[i].bitPattern) &* 16_777_619 }
        for i in 0..<state.count { hash = (hash ^ state[i].bitPattern) &* 16_777_619 }
        var rootHash = Float(bitPattern: hash)
        communicator.broadcast(&rootHash, count: 1, root: 0)
        guard rootHash.bitPattern == hash else {
            throw TrainingError("replicas diverged at global step \(globalStep): rank \(communicator.rank)'s weights differ from rank 0's")
        }
    }

    /// Rank 0 prints every rank's peak resident memory and the part of it that is training data,
    /// which shrinks as 1/ranks because each rank keeps only its shard.
    private func reportMemory() {
        let size = communicator.size
        let figures = DoubleBuffer(count: 2 * size)
        figures[2 * communicator.rank] = Double(SystemInfo.peakResidentBytes() ?? 0)
        figures[2 * communicator.rank + 1] = Double(training.pixels.count + training.labels.count
                                                    + (validation.map { $0.pixels.count + $0.labels.count } ?? 0))
        communicator.allreduceSum(figures.pointer, count: figures.count)
        let megabytes = { (bytes: Double) in String(format: "%.1f MB", bytes / 1_048_576) }
        let lines = (0..<size).map { "rank \($0): peak RSS \(megabytes(figures[2 * $0])), training data \(megabytes(figures[2 * $0 + 1]))" }
        progress.message("Memory: " + lines.joined(separator: "; "))
        if let startupSeconds {
            progress.message(String(format: "Startup: the first training step ended %.2f s after the program started", startupSeconds))
        }
    }

    private func prepareRunDirectory() throws -> MetricsLog {
        let directory = options.runDirectory
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try options.config.tomlText.write(toFile: (directory as NSString).appendingPathComponent("config.toml"),
                                              atomically: true, encoding: .utf8)
            if let classNames {
                try (classNames.joined(separator: "\n") + "\n").write(toFile: (directory as NSString).appendingPathComponent("class_names.txt"),
                                                                     atomically: true, encoding: .utf8)
            }
        } catch {
            throw TrainingError("cannot create run folder \(directory): \(error.localizedDescription)")
        }
        return try MetricsLog(runDirectory: directory, resumingAt: resumedFrom != nil ? position.epoch : nil,
                              validation: validationEvaluation != nil)
    }
}
