import Communication
import ConvNetCore
import ConvNetData

/// Evaluation of a set held in strided shards, one per rank (the validation samples after each
/// epoch, the test set of `evaluate`): each rank scores its shard on its threads, so the cost is
/// 1/ranks of the set, and every rank gets the figures of the whole set.
///
/// The figures are bit-identical for any rank and thread count: a Double sum of per-rank (or
/// per-thread) partial sums rounds differently as the partition changes, so each rank puts its
/// samples' losses at their indices in the set in a buffer of zeros, one allreduce fills it (adding
/// zeros is exact), and every rank adds the losses up in sample order.
final class ShardedEvaluation {
    /// This rank's shard (`shard.globalIndex` is the index in the whole set).
    let set: LabelledImages
    private let localLosses: DoubleBuffer
    /// `[loss of every sample of the set..., correct, count]`: what one evaluation allreduces.
    private let reduction: DoubleBuffer

    init(set: LabelledImages) {
        self.set = set
        localLosses = DoubleBuffer(count: max(set.count, 1))
        reduction = DoubleBuffer(count: set.totalCount + 2)
    }

    /// Loss (with the regularisation penalty, as Keras's `evaluate` reports it) and accuracy over
    /// the whole set. A collective: every rank calls it at the same point.
    func run(runner: ModelRunner, model: Sequential, parameters: UnsafePointer<Float>, state: UnsafePointer<Float>,
             communicator: any Communicator) -> BatchStatistics {
        let local = runner.evaluate(sampleCount: set.count, parameters: parameters, state: state,
                                    sampleLosses: localLosses.pointer, fill: set.filler)
        let total = set.totalCount, values = reduction.pointer
        values.update(repeating: 0, count: reduction.count)
        for k in 0..<set.count { values[set.shard.globalIndex(of: k)] = localLosses[k] }
        values[total] = Double(local.correct)
        values[total + 1] = Double(local.count)
        communicator.allreduceSum(values, count: reduction.count)
        var lossSum = 0.0
        for m in 0..<total { lossSum += values[m] }
        let count = Int(values[total + 1])
        lossSum += model.regularizationPenalty(parameters) * Double(count)
        return BatchStatistics(lossSum: lossSum, correct: Int(values[total]), count: count)
    }
}
