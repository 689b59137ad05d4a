import Communication
import ConvNetConfig
import ConvNetData

/// What identifies a training set for resuming: its size and a hash of every sample's label at its
/// index. Each rank hashes its own shard; the per-sample hashes are added (an order-free sum, so
/// any rank count gives the same value), in three 21-bit pieces that Double sums hold exactly.
public enum DataFingerprint {
    public static func of(_ set: LabelledImages, communicator: any Communicator) -> String {
        var pieces = [Double](repeating: 0, count: 3)
        for local in 0..<set.count {
            var h = UInt64(set.shard.globalIndex(of: local)) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(set.labels[local])
            h = (h ^ (h >> 31)) &* 0xBF58_476D_1CE4_E5B9
            h ^= h >> 29
            for i in 0..<3 { pieces[i] += Double((h >> (21 * UInt64(i))) & 0x1F_FFFF) }
        }
        pieces.withUnsafeMutableBufferPointer { communicator.allreduceSum($0.baseAddress!, count: 3) }
        let hash = pieces.enumerated().reduce(UInt64(0)) { $0 ^ (UInt64($1.element) &* (0x100_0000_01B3 &<< UInt64(8 * $1.offset))) }
        return "\(set.totalCount) samples, labels \(String(hash, radix: 16))"
    }
}

/// The rules for continuing a run with a resolved config that may differ from the checkpoint's.
///
/// The rest of an epoch is defined by the epoch's permutation (seed, shuffle, data and the part of
/// it held out by `validation_split`) and its slicing
/// (batch size), so mid-epoch none of those may change: the run would skip or repeat samples. At an
/// epoch boundary they may, and the change is logged. The architecture and optimizer never change
/// (checked when the checkpoint is read).
///
/// `accumulation_steps` changes no sample of any step. Without batch normalisation it changes no
/// weight either (the same Double sums), so it may change anywhere; with it, it changes the
/// statistics the layers normalise with, so, as a change of the recipe, only at an epoch boundary.
enum ResumeCheck {
    /// Throws when a mid-epoch resume changes what defines the epoch; returns the changes otherwise.
    /// `batchStatistics`: the model has layers that use the statistics of the (micro-)batch.
    static func changes(from checkpoint: Checkpoint, path: String, to config: ExperimentConfig,
                        dataFingerprint: String, trainingCount: Int, batchStatistics: Bool) throws -> [String] {
        let old = checkpoint.config
        var changes: [String] = []
        if old.batchSize != config.batchSize { changes.append("batch size \(old.batchSize) -> \(config.batchSize)") }
        if old.seed != config.seed { changes.append("seed \(old.seed) -> \(config.seed)") }
        if old.shuffle != config.shuffle { changes.append("shuffle \(old.shuffle) -> \(config.shuffle)") }
        if old.validationSplit != config.validationSplit {
            changes.append("validation split \(old.validationSplit) -> \(config.validationSplit)")
        }
        if let before = checkpoint.dataFingerprint, before != dataFingerprint {
            changes.append("training data (\(before)) -> (\(dataFingerprint))")
        }
        let position = checkpoint.position
        if position.step > 0 && !changes.isEmpty {
            throw TrainingError("cannot resume \(path) in the middle of epoch \(position.epoch) (step \(position.step)) with "
                                + changes.joined(separator: ", ") + ": the rest of the epoch would skip or repeat samples; "
                                + "resume with the checkpoint's values, or from a checkpoint written at the end of an epoch")
        }
        if old.accumulationSteps != config.accumulationSteps {
            let change = "accumulation steps \(old.accumulationSteps) -> \(config.accumulationSteps)"
            guard !batchStatistics || position.step == 0 else {
                throw TrainingError("cannot resume \(path) in the middle of epoch \(position.epoch) (step \(position.step)) with "
                                    + change + ": the model's batch normalisation would use other statistics for the rest of the epoch; "
                                    + "resume with --accumulation-steps \(old.accumulationSteps), or from a checkpoint written at the end of an epoch")
            }
            changes.append(batchStatistics ? change : change + " (the same weights: no batch statistics)")
        }
        guard position.step > 0 else { return changes }
        let steps = (trainingCount + config.batchSize - 1) / config.batchSize
        guard position.step < steps else {
            throw TrainingError("\(path) is at step \(position.step) of epoch \(position.epoch), but an epoch has \(steps) steps here")
        }
        return changes
    }
}
