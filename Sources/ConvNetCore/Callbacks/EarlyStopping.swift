/// Keras's `EarlyStopping`: ends training when `monitor` has not improved by more than `min_delta`
/// for `patience` epochs, counted from epoch `start_from_epoch` (0-based; earlier epochs are
/// ignored), never after the first epoch. With `baseline`, an improvement resets the wait only if it
/// also beats the baseline. With `restore_best_weights`, the weights of the best epoch (from the
/// first epoch it watched, if none improved) become the model's at the end of training, whether it
/// stopped early or not.
///
/// State: `best` (nil until the first watched epoch), `wait`, `best_epoch`, `stopped_epoch`, and
/// whether best weights are held (the weights themselves are a buffer of the trainer's).
public struct EarlyStopping: Callback {
    public static let name = "early_stopping"
    public var monitor: Monitor
    public var patience: Int
    public var baseline: Double?
    public var restoreBestWeights: Bool
    public var startFromEpoch: Int

    public var best: Double?
    public var wait = 0
    public var bestEpoch = 0
    /// 0-based epoch it stopped after; 0: it has not stopped (Keras's convention).
    public var stoppedEpoch = 0
    public var holdsBestWeights = false

    public init(config: ConfigTable) throws {
        let minDelta = try config.number("min_delta") ?? 0
        guard minDelta.isFinite else { throw DescriptionError("\(config.key("min_delta")) must be a finite number, got \(minDelta)") }
        monitor = try Monitor(config: config, minDelta: minDelta)
        patience = try config.int("patience", min: 0) ?? 0
        baseline = try config.number("baseline")
        if let baseline, !baseline.isFinite { throw DescriptionError("\(config.key("baseline")) must be a finite number, got \(baseline)") }
        restoreBestWeights = try config.bool("restore_best_weights") ?? false
        startFromEpoch = try config.int("start_from_epoch", min: 0) ?? 0
    }

    public var config: [ConfigEntry] {
        monitor.config + (monitor.minDelta == 0 ? [] : [ConfigEntry("min_delta", .number(monitor.minDelta))])
            + [ConfigEntry("patience", .int(patience))] + (baseline.map { [ConfigEntry("baseline", .number($0))] } ?? [])
            + (restoreBestWeights ? [ConfigEntry("restore_best_weights", .bool(true))] : [])
            + (startFromEpoch == 0 ? [] : [ConfigEntry("start_from_epoch", .int(startFromEpoch))])
    }

    public static let countsInState = [1, 2, 3, 4]
    public var state: [Double] {
        get { [best.stateValue, Double(wait), Double(bestEpoch), Double(stoppedEpoch), holdsBestWeights ? 1 : 0] }
        set {
            best = Double?(stateValue: newValue[0])
            (wait, bestEpoch, stoppedEpoch, holdsBestWeights) = (Int(newValue[1]), Int(newValue[2]), Int(newValue[3]), newValue[4] != 0)
        }
    }

    public mutating func epochEnded(_ epoch: Int, value: Double, actions: inout CallbackActions) {
        guard epoch >= startFromEpoch else { return }
        if restoreBestWeights && !holdsBestWeights {
            (holdsBestWeights, bestEpoch, actions.keepBestWeights) = (true, epoch, true)
        }
        wait += 1
        if monitor.isImprovement(value, over: best) {
            (best, bestEpoch) = (value, epoch)
            if restoreBestWeights { actions.keepBestWeights = true }
            if baseline == nil || monitor.isImprovement(value, over: baseline) { wait = 0 }
            return
        }
        if wait >= patience && epoch > 0 {
            stoppedEpoch = epoch
            actions.stop = true
        }
    }
}
