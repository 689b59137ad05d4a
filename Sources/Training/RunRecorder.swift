import Communication
import ConvNetCore
import Foundation
import Plots

/// What a run leaves behind and checks as it goes: rank 0 writes the run folder (`config.toml`,
/// `class_names.txt`, `metrics.csv`, `steps.csv`, `confusion.csv`, the pictures, the checkpoints and
/// `model.safetensors`, and `tensorboard/` when asked); every rank takes part in the replica check and the memory report.
///
/// Methods that say so are collectives (every rank calls them at the same point); the others do
/// their work on rank 0 and nothing elsewhere.
final class RunRecorder {
    /// Steps between checks that every rank holds the same weights.
    static let replicaCheckInterval = 100

    private let setup: RunSetup
    private let options: TrainingOptions
    private let communicator: any Communicator
    private let progress: ProgressReporter
    private let checkpoints: CheckpointStore
    /// Rank 0's logs; nil elsewhere (and `steps` without `--log-every`).
    private let metrics: MetricsLog?
    private let steps: StepLog?
    /// Rank 0's TensorBoard log with `--tensorboard`; nil otherwise.
    private let tensorboard: TensorBoardLog?
    /// The run's callbacks, whose state every checkpoint holds.
    var callbacks: EpochCallbacks?

    /// Rank 0 creates the run folder and writes the config and class names; a resumed run keeps the
    /// rows of its logs up to the checkpoint's position.
    init(setup: RunSetup, options: TrainingOptions, communicator: any Communicator, progress: ProgressReporter) throws {
        self.setup = setup
        self.options = options
        self.communicator = communicator
        self.progress = progress
        checkpoints = CheckpointStore(runDirectory: options.runDirectory, keep: options.keepCheckpoints)
        let resumed = setup.resumedFrom != nil
        // First: a damaged events file stops a resume before the CSV logs are trimmed.
        tensorboard = communicator.isRoot && options.config.tensorboard
            ? try TensorBoardLog(runDirectory: options.runDirectory, resumingAt: resumed ? setup.position : nil,
                                 validation: setup.validation != nil, test: setup.test != nil) : nil
        metrics = communicator.isRoot ? try Self.prepare(options.runDirectory, options: options, setup: setup) : nil
        steps = try options.logEvery.flatMap { _ in
            communicator.isRoot ? try StepLog(runDirectory: options.runDirectory, resumingAfter: resumed ? setup.position.globalStep : nil) : nil
        }
    }

    /// After each step: a `steps.csv` row every `--log-every` steps, the replica check every
    /// `replicaCheckInterval` steps, and a checkpoint every `--checkpoint-every` steps inside an
    /// epoch (its end has its own). A collective.
    func stepDone(_ result: DataParallelStep.Result, at position: TrainingPosition, endsEpoch: Bool) throws {
        let stats = result.statistics
        if let every = options.logEvery, position.globalStep % every == 0 {
            try steps?.append(globalStep: position.globalStep, epoch: position.epoch, step: position.step, loss: stats.meanLoss,
                              accuracy: stats.accuracy, samples: stats.count, learningRate: result.learningRate)
            tensorboard?.step(globalStep: position.globalStep, loss: stats.meanLoss, accuracy: stats.accuracy, learningRate: result.learningRate)
        }
        if position.globalStep % Self.replicaCheckInterval == 0 { try checkReplicasAgree(at: position) }
        if let every = options.checkpointEvery, position.globalStep % every == 0, !endsEpoch { try saveCheckpoint(at: position) }
    }

    /// Replicas must hold bit-identical weights: each rank hashes its parameters and state and
    /// compares with rank 0's hash; a rank that differs stops the job, so divergence never goes
    /// unnoticed. A collective.
    func checkReplicasAgree(at position: TrainingPosition) throws {
        guard communicator.size > 1 else { return }
        let parameters = setup.step.parameters, state = setup.step.state
        var hash: UInt32 = 2_166_136_261   // FNV-1a over the bit patterns
        for i in 0..<parameters.count { hash = (hash ^ parameters[i].bitPattern) &* 16_777_619 }
        for i in 0..<state.count { hash = (hash ^ state[i].bitPattern) &* 16_777_619 }
        var rootHash = Float(bitPattern: hash)
        communicator.broadcast(&rootHash, count: 1, root: 0)
        guard rootHash.bitPattern == hash else {
            throw TrainingError("replicas diverged at global step \(position.globalStep): rank \(communicator.rank)'s weights differ from rank 0's")
        }
    }

    /// Rank 0 writes the weights, state, optimizer state and `position` to `RUN_DIR/checkpoints`;
    /// returns the path there (nil on the other ranks).
    @discardableResult
    func saveCheckpoint(at position: TrainingPosition) throws -> String? {
        guard communicator.isRoot else { return nil }
        try tensorboard?.flush()
        let step = setup.step, optimizer = step.optimizer
        var checkpoint = Checkpoint(
            config: options.config, position: position, worldSize: communicator.size, dataFingerprint: setup.dataFingerprint,
            classNames: setup.classNames, parameters: step.parameters.array, state: step.state.array,
            optimizerIterations: optimizer.iterations,
            optimizerState: Dictionary(uniqueKeysWithValues: optimizer.state.map { ($0.name, $0.buffer.array) }), runID: setup.runID)
        checkpoint.callbackState = callbacks?.state
        return try checkpoints.save(checkpoint.encoded(model: setup.model), globalStep: position.globalStep)
    }

    /// `metrics.csv` gets the epoch's row; `confusion.csv` (with a test set), `curves.svg` and
    /// `confusion.svg` are rewritten. Without a test set there is no confusion matrix: validation is
    /// sharded across the ranks, and its figures are enough to follow the run.
    func record(_ epoch: EvaluatedEpoch) throws {
        guard let metrics else { return }
        try metrics.append(epoch.metrics)
        try tensorboard?.epoch(epoch.metrics, learningRate: setup.step.learningRate, weights: setup.model.parameterLayout, setup.step.parameters)
        let folder = options.runDirectory as NSString
        do {
            try epoch.confusion.map { try RunFolderPlots.confusionCSV($0).write(toFile: folder.appendingPathComponent("confusion.csv"),
                                                                              atomically: true, encoding: .utf8) }
            _ = try RunFolderPlots.redraw(runDirectory: options.runDirectory)
        } catch {
            throw TrainingError("cannot draw the run folder's pictures: \(plainDescription(error))")
        }
    }

    /// At the end of the run: rank 0 writes `model.safetensors`, then prints every rank's peak
    /// resident memory against its estimate (`MemoryEstimate`) and the part of it that is training data
    /// (which shrinks as 1/ranks, since each rank keeps only its shard), and the startup time. A collective.
    func finish(startupSeconds: Double?) throws {
        let step = setup.step
        if communicator.isRoot {
            try tensorboard?.flush()
            try WeightsFile.save(model: setup.model, parameters: step.parameters, state: step.state,
                                 path: (options.runDirectory as NSString).appendingPathComponent("model.safetensors"))
        }
        let size = communicator.size, training = setup.training, validation = setup.validation?.set
        let figures = DoubleBuffer(count: 3 * size)
        figures[3 * communicator.rank] = Double(SystemInfo.peakResidentBytes() ?? 0)
        figures[3 * communicator.rank + 1] = Double(training.pixels.count + training.labels.count
                                                    + (validation.map { $0.pixels.count + $0.labels.count } ?? 0))
        figures[3 * communicator.rank + 2] = setup.memoryEstimate.total
        communicator.allreduceSum(figures.pointer, count: figures.count)
        let megabytes = { (bytes: Double) in String(format: "%.1f MB", bytes / 1_048_576) }
        let lines = (0..<size).map {
            "rank \($0): peak RSS \(megabytes(figures[3 * $0])) (estimated \(megabytes(figures[3 * $0 + 2]))), "
                + "training data \(megabytes(figures[3 * $0 + 1]))"
        }
        progress.message("Memory: " + lines.joined(separator: "; "))
        if let startupSeconds {
            progress.message(String(format: "Startup: the first training step ended %.2f s after the program started", startupSeconds))
        }
    }

    /// Creates the run folder with `config.toml` and `class_names.txt`; returns its metrics log.
    private static func prepare(_ directory: String, options: TrainingOptions, setup: RunSetup) throws -> MetricsLog {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try options.config.tomlText.write(toFile: (directory as NSString).appendingPathComponent("config.toml"),
                                              atomically: true, encoding: .utf8)
            if let classNames = setup.classNames {
                try (classNames.joined(separator: "\n") + "\n").write(toFile: (directory as NSString).appendingPathComponent("class_names.txt"),
                                                                     atomically: true, encoding: .utf8)
            }
        } catch {
            throw TrainingError("cannot create run folder \(directory): \(plainDescription(error))")
        }
        return try MetricsLog(runDirectory: directory, resumingAt: setup.resumedFrom != nil ? setup.position.epoch : nil,
                              validation: setup.validation != nil,
                              learningRate: options.config.callbacks.contains { $0 is ReduceLROnPlateau })
    }
}
