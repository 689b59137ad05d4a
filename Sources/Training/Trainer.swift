import Communication
import ConvNetConfig
import ConvNetCore
import ConvNetData
import Foundation

/// Data-parallel training: each rank holds its shard of the training set, computes the summed
/// gradient of its part of every global batch on its threads, and one allreduce per step (gradients
/// plus loss, correct and sample counters in one buffer) gives every rank the same mean gradient
/// for the same optimizer step. Rank 0 evaluates on the test set and writes the run folder.
public final class Trainer {
    public let options: TrainingOptions
    public let communicator: any Communicator
    public let model: Sequential
    public let runner: ModelRunner
    public let parameters: FloatBuffer
    public let optimizer: any Optimizer
    public let training: LabelledImages
    /// Only rank 0 loads the test set.
    public let test: LabelledImages?
    public let progress: ProgressReporter

    /// Steps between checks that every rank holds the same weights.
    public static let replicaCheckInterval = 100

    /// `[gradient sums..., lossSum, correct, count]`: what one step allreduces.
    private let reduction: DoubleBuffer
    /// The mean gradient the optimizer applies.
    private let gradients: FloatBuffer
    private var localIndices: [Int32] = []

    public init(options: TrainingOptions, communicator: any Communicator = SingleProcessCommunicator(),
                progress: ProgressReporter.Style) throws {
        let config = options.config
        try config.validate()
        self.options = options
        self.communicator = communicator
        self.progress = ProgressReporter(style: communicator.isRoot ? progress : .silent)
        model = try Sequential(config.model)

        let files = MNISTFiles(directory: options.dataDirectory)
        let shape = config.model.inputShape.dimensions
        training = try files.loadTraining(shard: Shard(index: communicator.rank, count: communicator.size),
                                          expectedShape: shape, classes: config.model.classes)
        test = communicator.isRoot ? try files.loadTest(expectedShape: shape, classes: config.model.classes) : nil

        runner = ModelRunner(model: model, maxBatch: config.batchSize, threads: options.threads)
        parameters = FloatBuffer(count: model.parameterCount)
        Initialization.glorotUniform(model, seed: config.seed, into: parameters)
        communicator.broadcast(parameters.pointer, count: parameters.count, root: 0)
        optimizer = config.optimizer.make(parameterCount: model.parameterCount)
        reduction = DoubleBuffer(count: model.parameterCount + 3)
        gradients = FloatBuffer(count: model.parameterCount)
        localIndices.reserveCapacity(config.batchSize)
    }

    /// Trains for the configured epochs (or `maxSteps`), evaluating after each epoch. Returns the
    /// per-epoch metrics on rank 0 (empty elsewhere).
    @discardableResult
    public func run() throws -> [EpochMetrics] {
        let config = options.config
        let log = communicator.isRoot ? try prepareRunDirectory() : nil
        let stepLog = try options.logEvery.flatMap { _ in communicator.isRoot ? try StepLog(runDirectory: options.runDirectory) : nil }
        var history: [EpochMetrics] = []
        var globalStep = 0
        epochs: for epoch in 1...config.epochs {
            let schedule = EpochSchedule(totalCount: training.totalCount, batchSize: config.batchSize,
                                         seed: config.seed, epoch: epoch, shuffle: config.shuffle)
            var totals = BatchStatistics()
            let start = ContinuousClock.now
            var stepsDone = 0
            for step in 0..<schedule.steps {
                let stats = try trainStep(schedule: schedule, step: step, epoch: epoch, globalStep: globalStep + 1)
                totals = totals + stats
                globalStep += 1
                stepsDone += 1
                if let every = options.logEvery, globalStep % every == 0 {
                    stepLog?.append(globalStep: globalStep, epoch: epoch, step: step + 1, loss: stats.meanLoss,
                                    accuracy: stats.accuracy, samples: stats.count)
                }
                if globalStep % Trainer.replicaCheckInterval == 0 { try checkReplicasAgree(globalStep: globalStep) }
                progress.stepDone(epoch: epoch, epochs: config.epochs, step: step + 1, steps: schedule.steps,
                                  loss: totals.meanLoss, accuracy: totals.accuracy, samples: totals.count,
                                  elapsed: seconds(since: start))
                if let maxSteps = options.maxSteps, globalStep >= maxSteps { break }
            }
            let trainSeconds = seconds(since: start)
            try checkReplicasAgree(globalStep: globalStep)
            if communicator.isRoot, let test {
                let evalStart = ContinuousClock.now
                let testStats = evaluate(test)
                let metrics = EpochMetrics(
                    epoch: epoch, steps: stepsDone, trainLoss: totals.meanLoss, trainAccuracy: totals.accuracy,
                    testLoss: testStats.meanLoss, testAccuracy: testStats.accuracy, epochSeconds: trainSeconds,
                    samplesPerSecond: Double(totals.count) / trainSeconds, evaluationSeconds: seconds(since: evalStart))
                progress.epochDone(metrics, epochs: config.epochs)
                try log?.append(metrics)
                history.append(metrics)
            }
            if let maxSteps = options.maxSteps, globalStep >= maxSteps { break epochs }
        }
        if communicator.isRoot {
            try WeightsFile.save(model: model, parameters: parameters,
                                 path: (options.runDirectory as NSString).appendingPathComponent("model.safetensors"))
        }
        reportMemory()
        return history
    }

    /// Rank 0 prints every rank's peak resident memory and the part of it that is training data,
    /// which shrinks as 1/ranks because each rank keeps only its shard.
    private func reportMemory() {
        let size = communicator.size
        let figures = DoubleBuffer(count: 2 * size)
        figures[2 * communicator.rank] = Double(SystemInfo.peakResidentBytes() ?? 0)
        figures[2 * communicator.rank + 1] = Double(training.pixels.count + training.labels.count)
        communicator.allreduceSum(figures.pointer, count: figures.count)
        let megabytes = { (bytes: Double) in String(format: "%.1f MB", bytes / 1_048_576) }
        let lines = (0..<size).map { "rank \($0): peak RSS \(megabytes(figures[2 * $0])), training data \(megabytes(figures[2 * $0 + 1]))" }
        progress.message("Memory: " + lines.joined(separator: "; "))
    }

    /// Replicas must hold bit-identical weights: each rank hashes its parameters and compares with
    /// rank 0's hash; a rank that differs stops the job, so divergence never goes unnoticed.
    private func checkReplicasAgree(globalStep: Int) throws {
        guard communicator.size > 1 else { return }
        var hash: UInt32 = 2_166_136_261   // FNV-1a over the parameters' bit patterns
        for i in 0..<parameters.count { hash = (hash ^ parameters[i].bitPattern) &* 16_777_619 }
        var rootHash = Float(bitPattern: hash)
        communicator.broadcast(&rootHash, count: 1, root: 0)
        guard rootHash.bitPattern == hash else {
            throw TrainingError("replicas diverged at global step \(globalStep): rank \(communicator.rank)'s weights differ from rank 0's")
        }
    }

    /// One synchronised optimizer step on global batch `step` of the epoch.
    private func trainStep(schedule: EpochSchedule, step: Int, epoch: Int, globalStep: Int) throws -> BatchStatistics {
        schedule.localIndices(step: step, shard: training.shard, into: &localIndices)
        let n = model.parameterCount
        let local = localIndices.withUnsafeBufferPointer { indices in
            runner.gradients(batchSize: indices.count, parameters: parameters.pointer, into: reduction.pointer) {
                [training] range, images, labels in
                let size = training.sampleSize
                for (slot, position) in range.enumerated() {
                    labels[slot] = training.write(sample: Int(indices[position]), to: images + slot * size)
                }
            }
        }
        reduction[n] = local.lossSum
        reduction[n + 1] = Double(local.correct)
        reduction[n + 2] = Double(local.count)
        communicator.allreduceSum(reduction.pointer, count: reduction.count)

        let count = Int(reduction[n + 2])
        let global = BatchStatistics(lossSum: reduction[n], correct: Int(reduction[n + 1]), count: count)
        let sums = reduction.pointer, mean = gradients.pointer, scale = 1 / Double(count)
        var finite = global.lossSum.isFinite
        for i in 0..<n {
            mean[i] = Float(sums[i] * scale)
            if !mean[i].isFinite { finite = false }
        }
        guard finite else {
            let what = global.lossSum.isFinite ? "gradient" : "loss (\(global.lossSum))"
            throw TrainingError("non-finite \(what) at epoch \(epoch), step \(step + 1) (global step \(globalStep)); "
                                + "training stopped: try a lower --lr")
        }
        optimizer.step(parameters: parameters.pointer, gradients: mean, count: n)
        return global
    }

    /// Loss and accuracy of the current parameters over a whole labelled set, on this rank's threads.
    public func evaluate(_ set: LabelledImages) -> BatchStatistics {
        runner.evaluate(sampleCount: set.count, parameters: parameters.pointer) { range, images, labels in
            let size = set.sampleSize
            for (slot, sample) in range.enumerated() {
                labels[slot] = set.write(sample: sample, to: images + slot * size)
            }
        }
    }

    private func prepareRunDirectory() throws -> MetricsLog {
        let directory = options.runDirectory
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try options.config.tomlText.write(toFile: (directory as NSString).appendingPathComponent("config.toml"),
                                              atomically: true, encoding: .utf8)
        } catch {
            throw TrainingError("cannot create run folder \(directory): \(error.localizedDescription)")
        }
        return try MetricsLog(runDirectory: directory)
    }

    private func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }
}
