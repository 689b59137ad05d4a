import Communication
import ConvNetConfig
import ConvNetCore
import ConvNetData
import Foundation

/// Data-parallel training: each rank holds its shard of the training set, computes the summed
/// gradient of its part of every global batch on its threads, and one allreduce per step (gradients
/// plus loss, correct and sample counters in one buffer) gives every rank the same mean gradient
/// for the same optimizer step. Rank 0 evaluates on the test set and writes the run folder; with a
/// `validation_split`, every rank also evaluates its shard of the held-out samples after each epoch.
/// A data set without a test set (an image folder in the single layout) must have a split, and its
/// epochs report train and validation figures only.
///
/// The parts: `RunSetup` (checkpoint, run folder, data, weights), `DataParallelStep` (one step),
/// `EpochEvaluation` (after each epoch), `RunRecorder` (run folder, checkpoints, replica check).
public final class Trainer {
    public let options: TrainingOptions
    public let communicator: any Communicator
    public let progress: ProgressReporter
    private let setup: RunSetup
    private let hooks: (any TrainingHooks)?
    public var model: Sequential { setup.model }
    /// The synchronised optimizer step, shared with `bench`; owns the parameters and state.
    public var step: DataParallelStep { setup.step }
    public var parameters: FloatBuffer { step.parameters }
    /// This rank's shard of the training samples (without the held-out validation samples).
    public var training: LabelledImages { setup.training }
    /// This rank's shard of the held-out samples; nil without a `validation_split`.
    public var validation: LabelledImages? { setup.validation?.set }
    /// Where the run is; advanced by every step.
    public private(set) var position: TrainingPosition
    /// Seconds from the process's start to the end of its first training step.
    public private(set) var startupSeconds: Double?

    /// Checks the config, reads the checkpoint, claims the run folder and loads the data (see
    /// `RunSetup`). `hooks` are for tests that inject faults; the user's binary passes none.
    public init(options: TrainingOptions, communicator: any Communicator = SingleProcessCommunicator(),
                progress: ProgressReporter.Style, hooks: (any TrainingHooks)? = nil) throws {
        self.options = options
        self.communicator = communicator
        self.progress = ProgressReporter(style: communicator.isRoot ? progress : .silent)
        self.hooks = hooks
        setup = try RunSetup(options: options, communicator: communicator, progress: self.progress, hooks: hooks)
        position = setup.position
    }

    /// How a run ended.
    public enum Outcome: Equatable { case finished, stopped(checkpoint: String) }

    /// Trains until the configured epochs are done (or `maxSteps`, or a stop request), evaluating
    /// after each epoch and checkpointing after each epoch and every `checkpointEvery` steps.
    /// Returns the per-epoch metrics on rank 0 (empty elsewhere) and how the run ended.
    @discardableResult
    public func run() throws -> (history: [EpochMetrics], outcome: Outcome) {
        let epochs = options.config.epochs
        let recorder = try RunRecorder(setup: setup, options: options, communicator: communicator, progress: progress)
        let evaluation = EpochEvaluation(setup: setup, communicator: communicator, progress: progress, epochs: epochs)
        let callbacks = EpochCallbacks(setup: setup, config: options.config, communicator: communicator, runDirectory: options.runDirectory)
        recorder.callbacks = callbacks
        let watchdog = startWatchdog()
        defer { watchdog?.stop() }
        announceStart()
        let share = EvenShare(data: training, communicator: communicator, maxBatch: min(step.microBatchSize, training.totalCount))
        var history: [EpochMetrics] = []
        if let stopped = callbacks.stoppedAfter {
            progress.message("The run stopped early after epoch \(stopped) (early_stopping); it is complete: nothing to train.")
        }
        while position.epoch <= epochs && !reachedMaxSteps && callbacks.stoppedAfter == nil {
            let schedule = epochSchedule()
            let clock = (start: ContinuousClock.now, secondsBefore: position.epochSeconds)
            var stop: Stop?
            var lastRate: Float?
            while position.step < schedule.steps && stop == nil {
                let result = try trainStep(schedule.globalBatch(step: position.step), share: share, watchdog: watchdog)
                lastRate = result.learningRate
                advance(by: result.statistics, steps: schedule.steps, clock: clock)
                try callbacks.stepEnded(at: position)
                try recorder.stepDone(result, at: position, endsEpoch: position.step == schedule.steps)
                stop = stopAfterStep(result, steps: schedule.steps)
            }
            if stop == .requested { return (history, .stopped(checkpoint: try stopOnRequest(recorder))) }
            if stop == .maxSteps { try recorder.saveCheckpoint(at: position) }
            try recorder.checkReplicasAgree(at: position)
            var evaluated = evaluation.run(after: position)
            evaluated?.metrics.learningRate = lastRate ?? step.learningRate
            var actions = CallbackActions()
            if stop == nil {
                actions = try callbacks.epochEnded(position.epoch, metrics: evaluated?.metrics)
                if actions.lowerRate { progress.message(callbacks.rateMessage(epoch: position.epoch)) }
                if actions.stop { progress.notice(callbacks.stopReason(epoch: position.epoch)) }
                position = TrainingPosition(epoch: position.epoch + 1, step: 0, globalStep: position.globalStep,
                                            epochTotals: BatchStatistics(), epochSeconds: 0)
                try recorder.saveCheckpoint(at: position)
            }
            if let evaluated { try recorder.record(evaluated); history.append(evaluated.metrics) }
            if stop != nil || actions.stop { break }   // --max-steps ended the run inside this epoch, or early stopping
        }
        if let epoch = callbacks.restoreBestWeights() {
            progress.message("Restored the weights of epoch \(epoch), the best by early_stopping's monitor, into model.safetensors")
        }
        try recorder.finish(startupSeconds: startupSeconds)
        return (history, .finished)
    }

    /// Why the run stops after a step: a stop request (on any rank), or `--max-steps` reached
    /// inside an epoch (reached at an epoch's end, the epoch simply ends).
    private enum Stop { case requested, maxSteps }

    private func stopAfterStep(_ result: DataParallelStep.Result, steps: Int) -> Stop? {
        if reachedMaxSteps && position.step == steps { return nil }
        return result.stopRequested ? .requested : reachedMaxSteps ? .maxSteps : nil
    }

    private var reachedMaxSteps: Bool { options.maxSteps.map { position.globalStep >= $0 } ?? false }

    /// One synchronised optimizer step on this rank's share of `globalBatch`, timed by the watchdog.
    private func trainStep(_ globalBatch: ArraySlice<Int32>, share: EvenShare,
                           watchdog: StepWatchdog?) throws -> DataParallelStep.Result {
        let globalStep = position.globalStep
        watchdog?.stepStarted(globalStep: globalStep + 1)
        defer { watchdog?.stepFinished() }
        hooks?.inStep(globalStep: globalStep + 1, rank: communicator.rank)
        return try step.run(globalBatch: globalBatch, share: share, globalStep: globalStep,
                            where: "epoch \(position.epoch), step \(position.step + 1) (global step \(globalStep + 1))")
    }

    /// Counts the step into the position and the epoch's totals, and reports progress.
    private func advance(by statistics: BatchStatistics, steps: Int, clock: (start: ContinuousClock.Instant, secondsBefore: Double)) {
        position.step += 1
        position.globalStep += 1
        if startupSeconds == nil { startupSeconds = SystemInfo.secondsSinceProgramStart() }
        position.epochTotals = position.epochTotals + statistics
        position.epochSeconds = clock.secondsBefore + clock.start.secondsAgo
        let totals = position.epochTotals
        progress.stepDone(epoch: position.epoch, epochs: options.config.epochs, step: position.step, steps: steps,
                          loss: totals.meanLoss, accuracy: totals.accuracy, samples: totals.count, elapsed: position.epochSeconds)
    }

    /// The order of the current epoch's samples and its global batches.
    private func epochSchedule() -> EpochSchedule {
        let config = options.config
        return EpochSchedule(totalCount: training.totalCount, batchSize: config.batchSize, seed: config.seed,
                             epoch: position.epoch, shuffle: config.shuffle)
    }

    /// Checkpoints the current position, says how to resume; returns the checkpoint's path.
    private func stopOnRequest(_ recorder: RunRecorder) throws -> String {
        let path = try recorder.saveCheckpoint(at: position)
        progress.notice("Stopped on request at epoch \(position.epoch), step \(position.step) (global step \(position.globalStep)); "
                        + "checkpoint \(path ?? "written by rank 0"). Resume with: convnet-dist train --resume --run-dir \(options.runDirectory)")
        return path ?? ""
    }

    /// Ends the job when a step stalls (see `StepWatchdog`); nil with `--step-timeout 0`.
    private func startWatchdog() -> StepWatchdog? {
        let runDirectory = options.runDirectory, keep = options.keepCheckpoints
        return options.stepTimeout == 0 ? nil : StepWatchdog(timeout: options.stepTimeout, communicator: communicator) {
            (try? CheckpointStore(runDirectory: runDirectory, keep: keep).latest()).flatMap {
                FileManager.default.fileExists(atPath: $0) ? $0 : nil
            }
        }
    }

    /// Where a resumed run continues, what the resume changed, and a note when nothing is left to train.
    private func announceStart() {
        if let resumedFrom = setup.resumedFrom {
            var line = "Resuming from \(resumedFrom.path): epoch \(position.epoch), step \(position.step) (global step \(position.globalStep))"
            if resumedFrom.worldSize != communicator.size {
                line += "; written by \(resumedFrom.worldSize) rank(s), now \(communicator.size): the data order and global batches are unchanged"
            }
            progress.message(line)
            if !setup.resumeChanges.isEmpty {
                let at = position.step == 0 ? "at the start of epoch \(position.epoch)" : "at epoch \(position.epoch), step \(position.step)"
                progress.message("Changed \(at): " + setup.resumeChanges.joined(separator: "; "))
            }
        }
        if position.epoch > options.config.epochs {
            progress.message("The run already completed \(options.config.epochs) epoch(s); pass a larger --epochs to train further.")
        }
    }
}
