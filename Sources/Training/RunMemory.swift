import ConvNetConfig
import ConvNetCore
import ConvNetData
import Foundation

/// The memory checks of a training run (`MemoryBudget`), made twice: before the data is read, with one
/// sample (a model that cannot hold one sample is refused without reading any), and once the data
/// is in, before the optimizer, the gradients and the workspaces are allocated.
public enum RunMemory {
    public static let advice = "lower --batch-size or --threads (or raise --accumulation-steps), or the model's input_shape or layer sizes"

    /// A training run's estimate for this rank (train and bench): a `DataParallelStep` for
    /// `samplesPerRank` samples per pass (a share of a micro-batch) in chunks of `chunkSize`, the
    /// `held` samples of its data, and the exchange buffers of `EvenShare` for (micro-)batches of
    /// `globalBatch` samples.
    public static func estimate(model: Sequential, config: ExperimentConfig, threads: Int,
                                chunkSize: Int = ModelRunner.defaultChunkSize, samplesPerRank: Int,
                                held: Int, globalBatch: Int) -> MemoryEstimate {
        var estimate = MemoryEstimate(model: model, maxBatch: samplesPerRank, threads: threads, chunkSize: chunkSize,
                                      optimizerSlots: config.optimizer.make(parameterCount: 1).state.count)
        if config.accumulationSteps > 1 { estimate.weights += 8 * Double(model.parameterCount) }   // a micro-batch's sums
        estimate.addData(samples: held + 2 * globalBatch, sampleSize: model.inputShape.count)
        return estimate
    }

    /// `estimate` for a run of `config` on `trainingCount` samples over `ranks` ranks: its passes
    /// and exchanges are sized by the micro-batch (`DataParallelStep.samplesPerRank`).
    public static func estimate(model: Sequential, config: ExperimentConfig, threads: Int,
                                chunkSize: Int = ModelRunner.defaultChunkSize, trainingCount: Int, ranks: Int,
                                held: Int) -> MemoryEstimate {
        let samplesPerRank = DataParallelStep.samplesPerRank(batchSize: config.batchSize, trainingCount: trainingCount, ranks: ranks,
                                                             accumulationSteps: config.accumulationSteps)
        return estimate(model: model, config: config, threads: threads, chunkSize: chunkSize, samplesPerRank: samplesPerRank,
                        held: held, globalBatch: min(config.batchSize / config.accumulationSteps, trainingCount))
    }

    /// Before the data is read: the smallest run this model can make, one sample.
    public static func checkBeforeLoading(model: Sequential, config: ExperimentConfig, threads: Int,
                                          chunkSize: Int = ModelRunner.defaultChunkSize, budget: MemoryBudget) throws {
        try budget.check(estimate(model: model, config: config, threads: threads, chunkSize: chunkSize,
                                  samplesPerRank: 1, held: 1, globalBatch: 0), advice: advice)
    }

    /// A reader's `DataSetOptions.willHold`: before each set is decoded, the samples held so far
    /// and those about to be, with the model's smallest run, against the limit.
    public static func checkWhileLoading(model: Sequential, config: ExperimentConfig, threads: Int,
                                         budget: MemoryBudget) -> @Sendable (Int, Int) throws -> Void {
        let held = HeldSamples()
        return { samples, _ in
            let total = held.add(samples)
            try budget.check(estimate(model: model, config: config, threads: threads, samplesPerRank: 1, held: total, globalBatch: 0),
                             advice: advice)
        }
    }
}

/// Samples the readers of one run have announced so far (training, then test).
private final class HeldSamples: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    func add(_ samples: Int) -> Int { lock.withLock { count += samples; return count } }
}

extension DataParallelStep {
    /// Samples one rank computes in one pass at most: its even share of the largest micro-batch
    /// (the global batch with `accumulationSteps` 1), which holds
    /// `min(batchSize / accumulationSteps, trainingCount)` samples. Buffers sized by it rather than
    /// by the batch size follow the data (batch 1,048,576 on 300 samples allocates for 300).
    public static func samplesPerRank(batchSize: Int, trainingCount: Int, ranks: Int, accumulationSteps: Int = 1) -> Int {
        let microBatch = max(1, min(batchSize / max(accumulationSteps, 1), trainingCount))
        return (microBatch + ranks - 1) / ranks
    }
}
