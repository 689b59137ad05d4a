import Communication
import ConvNetConfig
import ConvNetCore
import Foundation

/// The config's callbacks during a run (see `Callback`): after each complete epoch, rank 0's figures
/// are broadcast and every rank runs the same callbacks on them, so every rank stops, lowers its
/// rate and keeps best weights after the same step. A collective: every rank calls `epochEnded`.
///
/// Their state, and the best weights of `restore_best_weights` (the parameters, then the
/// non-trainable state, in one buffer), go into every checkpoint (`Checkpoint.callbackState`).
final class EpochCallbacks {
    private(set) var callbacks: [any Callback]
    private let setup: RunSetup
    private let communicator: any Communicator
    /// Parameters then state of the best epoch, for `restore_best_weights`; nil until one is kept.
    private(set) var bestWeights: [Float]?
    private var files: ModelCheckpointFiles

    init(setup: RunSetup, config: ExperimentConfig, communicator: any Communicator, runDirectory: String) {
        self.setup = setup
        self.communicator = communicator
        files = ModelCheckpointFiles(runDirectory: runDirectory)
        callbacks = config.callbacks
        if let restored = setup.callbackState {
            for i in callbacks.indices { callbacks[i].state = restored.states[i] }
            bestWeights = restored.bestWeights
        }
        let scheduled = config.schedule != nil
        if let i = plateauIndex {
            var plateau = callbacks[i] as! ReduceLROnPlateau
            plateau.scheduled = scheduled
            callbacks[i] = plateau
            setup.step.adjustRate = { [weak self] rate in
                (self?.callbacks[i] as? ReduceLROnPlateau).map { $0.effectiveRate(rate) } ?? rate
            }
        }
    }

    private var plateauIndex: Int? { callbacks.firstIndex { $0 is ReduceLROnPlateau } }

    /// What a checkpoint holds of them; nil without callbacks.
    var state: Checkpoint.CallbackState? {
        callbacks.isEmpty ? nil : Checkpoint.CallbackState(states: callbacks.map(\.state), bestWeights: bestWeights)
    }

    /// Runs every callback on the figures of epoch `epoch` (1-based; `metrics`: rank 0's, nil
    /// elsewhere), keeps the best weights and writes the model_checkpoint files asked for. A collective.
    func epochEnded(_ epoch: Int, metrics: EpochMetrics?) throws -> CallbackActions {
        var actions = CallbackActions()
        guard !callbacks.isEmpty else { return actions }
        var figures = Monitor.figures.map { metrics.flatMap(Self.figures)?[$0] ?? .nan }
        figures.withUnsafeMutableBufferPointer { communicator.broadcast($0.baseAddress!, count: $0.count, root: 0) }
        let named = Dictionary(uniqueKeysWithValues: zip(Monitor.figures, figures))
        let rate = setup.step.learningRate
        var saves: [String] = []
        for i in callbacks.indices {
            if var plateau = callbacks[i] as? ReduceLROnPlateau {
                plateau.currentRate = rate
                callbacks[i] = plateau
            }
            var own = CallbackActions()
            callbacks[i].epochEnded(epoch - 1, value: named[callbacks[i].monitor.figure]!, actions: &own)
            if own.save, let checkpoint = callbacks[i] as? ModelCheckpoint {
                saves.append(checkpoint.filePath.name(epoch: epoch, batch: nil, figures: named))
            }
            actions.merge(own)
        }
        let step = setup.step
        if actions.keepBestWeights { bestWeights = step.parameters.array + step.state.array }
        try saveWeights(as: saves)
        return actions
    }

    /// After each step at `position`: the model_checkpoint callbacks with a step `save_freq` decide
    /// on the epoch's running figures (the same on every rank: they come from the allreduce) and
    /// rank 0 writes their files. Runs before the step's checkpoint, which then holds their state.
    func stepEnded(at position: TrainingPosition) throws {
        guard !callbacks.isEmpty else { return }
        var saves: [String] = []
        let totals = position.epochTotals
        let figures = ["loss": totals.meanLoss, "accuracy": totals.accuracy]
        for i in callbacks.indices {
            guard var checkpoint = callbacks[i] as? ModelCheckpoint, checkpoint.saveEvery != nil else { continue }
            if checkpoint.stepEnded(globalStep: position.globalStep, figures: figures) {
                saves.append(checkpoint.filePath.name(epoch: position.epoch, batch: position.step, figures: figures))
            }
            callbacks[i] = checkpoint
        }
        try saveWeights(as: saves)
    }

    /// Rank 0 writes the weights and state to each of `names`.
    private func saveWeights(as names: [String]) throws {
        guard communicator.isRoot, !names.isEmpty else { return }
        let step = setup.step
        try files.save(names, model: setup.model, parameters: step.parameters, state: step.state)
    }

    /// The 1-based epoch after which early stopping ended the run (a checkpoint written then holds
    /// it); nil while it has not.
    var stoppedAfter: Int? {
        (callbacks.first { $0 is EarlyStopping } as? EarlyStopping).flatMap { $0.stoppedEpoch > 0 ? $0.stoppedEpoch + 1 : nil }
    }

    /// Keras's `EarlyStopping.on_train_end`: with `restore_best_weights` and best weights kept, they
    /// become the model's. Returns the 1-based epoch they are from (nil: nothing restored).
    func restoreBestWeights() -> Int? {
        guard let stopping = callbacks.first(where: { $0 is EarlyStopping }) as? EarlyStopping,
              stopping.restoreBestWeights, let bestWeights else { return nil }
        let step = setup.step, count = step.parameters.count
        _ = step.parameters.buffer.update(fromContentsOf: bestWeights[..<count])
        _ = step.state.buffer.update(fromContentsOf: bestWeights[count...])
        return stopping.bestEpoch + 1
    }

    /// Why the run stops early, for the log (the early-stopping callback's rule and figures).
    func stopReason(epoch: Int) -> String {
        guard let stopping = callbacks.first(where: { $0 is EarlyStopping }) as? EarlyStopping else { return "Stopped early after epoch \(epoch)" }
        return "Early stopping after epoch \(epoch): \(stopping.monitor.figure) did not improve by more than \(stopping.monitor.minDelta) "
            + "for \(stopping.patience) epoch(s) (best \(stopping.best.map { String(format: "%.6f", $0) } ?? "none") after epoch \(stopping.bestEpoch + 1))"
    }

    /// Messages for a lowered rate.
    func rateMessage(epoch: Int) -> String {
        "Epoch \(epoch): reduce_lr_on_plateau lowered the learning rate to \(setup.step.learningRate)"
    }

    /// An epoch's figures by their Keras names.
    private static func figures(_ metrics: EpochMetrics) -> [String: Double] {
        var figures = ["loss": metrics.trainLoss, "accuracy": metrics.trainAccuracy]
        figures["val_loss"] = metrics.validationLoss
        figures["val_accuracy"] = metrics.validationAccuracy
        figures["test_loss"] = metrics.testLoss
        figures["test_accuracy"] = metrics.testAccuracy
        return figures
    }
}
