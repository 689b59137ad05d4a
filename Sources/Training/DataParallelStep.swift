import Communication
import ConvNetConfig
import ConvNetCore
import ConvNetData

/// One synchronised data-parallel optimizer step, the same for `train` and `bench`:
///
/// 1. each rank computes the summed loss gradient of its samples of the global batch on its threads
///    (batch-norm statistics are summed across ranks inside that pass); with `accumulation_steps`
///    K > 1, the global batch is K micro-batches of `batch_size / K` consecutive samples, each
///    shared evenly among the ranks and run in turn, their Double sums added (see `runAccumulating`);
/// 2. one allreduce sums `[gradient sums..., loss sum, correct, count, stop requests]` in Double;
///    or, where the backward pass completes layers one stage after another (models with batch
///    normalisation, one micro-batch) or with `allreduce_dtype = "float32"`, the gradient sums go
///    in `GradientBuckets`, each started as soon as the backward pass has completed it;
/// 3. every rank divides by the global batch size, adds the regularisation gradient, clips
///    (`clipnorm`), sets the scheduled learning rate and applies the same optimizer step.
///
/// The parameters, the non-trainable state and each optimizer state are one flat buffer each, so
/// broadcast, allreduce, checkpoints and the optimizer each touch one buffer.
public final class DataParallelStep {
    public let model: Sequential
    public let runner: ModelRunner
    public let optimizer: any Optimizer
    public let communicator: any Communicator
    public let parameters: FloatBuffer
    /// Non-trainable state (batch-norm moving statistics).
    public let state: FloatBuffer
    public let schedule: LearningRateSchedule?
    public let initialLearningRate: Float
    public let clipnorm: Float?
    public let seed: UInt64
    /// `[training] accumulation_steps`: micro-batches per optimizer step.
    public let accumulationSteps: Int
    /// Samples per micro-batch (`batch_size / accumulation_steps`).
    public let microBatchSize: Int

    /// `[gradient sums..., lossSum, correct, count, stopRequests]`: what one step allreduces.
    private let reduction: DoubleBuffer
    /// The mean gradient the optimizer applies.
    private let gradients: FloatBuffer
    /// A micro-batch's gradient sums before they are added to the step's (accumulation only).
    private let microGradients: DoubleBuffer?
    /// Slots after the gradient sums in the reduction buffer.
    private enum Counter: Int, CaseIterable { case lossSum, correct, count, stopRequests }
    /// The bucketed allreduce, or nil for one blocking allreduce of the whole reduction buffer
    /// (Double sums that only complete at the end of the backward pass: nothing to overlap).
    private let buckets: GradientBuckets?

    /// Nanoseconds the last step spent in the gradient allreduce (with buckets: in starting,
    /// progressing and waiting for them, the part the backward pass did not hide).
    public private(set) var lastAllreduceNanoseconds: UInt64 = 0
    /// Nanoseconds the last step spent in batch norm's statistics sums across ranks (every one
    /// waits for the slowest rank and, on a network, for the bytes queued ahead of it).
    public private(set) var lastStatisticsNanoseconds: UInt64 = 0

    /// `maxBatch`: the most samples this rank computes in one pass (`samplesPerRank`, a share of a
    /// micro-batch); default: the micro-batch size. `bucketParameters`: see `GradientBuckets`.
    public init(model: Sequential, config: ExperimentConfig, threads: Int, chunkSize: Int = ModelRunner.defaultChunkSize,
                maxBatch: Int? = nil, communicator: any Communicator,
                bucketParameters: Int = GradientBuckets.bucketParameters) {
        self.model = model
        self.communicator = communicator
        accumulationSteps = config.accumulationSteps
        microBatchSize = config.batchSize / config.accumulationSteps
        runner = ModelRunner(model: model, loss: config.loss, maxBatch: maxBatch ?? microBatchSize, threads: threads, chunkSize: chunkSize)
        optimizer = config.optimizer.make(parameterCount: model.parameterCount)
        parameters = FloatBuffer(count: model.parameterCount)
        state = FloatBuffer(count: model.stateCount)
        Initialization.initialState(model, into: state)
        schedule = config.schedule
        initialLearningRate = config.optimizer.learningRate
        clipnorm = config.clipnorm
        seed = config.seed
        reduction = DoubleBuffer(count: model.parameterCount + Counter.allCases.count)
        gradients = FloatBuffer(count: model.parameterCount)
        microGradients = accumulationSteps > 1 ? DoubleBuffer(count: model.parameterCount) : nil
        let overlaps = model.synchronisesBatches && accumulationSteps == 1
        buckets = overlaps || config.allreduceDtype == .float32
            ? GradientBuckets(model: model, dtype: config.allreduceDtype, bucketParameters: bucketParameters,
                              communicator: communicator) : nil
    }

    /// Rank 0's parameters and state to every rank.
    public func broadcastWeights() {
        communicator.broadcast(parameters.pointer, count: parameters.count, root: 0)
        communicator.broadcast(state.pointer, count: state.count, root: 0)
    }

    /// The learning rate of the next step (after `optimizer.iterations` steps).
    public var learningRate: Float {
        let scheduled = schedule?.learningRate(initial: initialLearningRate, iterations: optimizer.iterations) ?? initialLearningRate
        return adjustRate.map { $0(scheduled) } ?? scheduled
    }

    /// Turns the scheduled (or configured) rate into the one applied: `reduce_lr_on_plateau`'s
    /// (`EpochCallbacks`); nil: the scheduled rate.
    public var adjustRate: ((Float) -> Float)?

    public struct Result {
        /// Loss (including the regularisation penalty, as Keras reports it), accuracy and samples of the global batch.
        public var statistics: BatchStatistics
        /// Some rank was asked to stop (see `StopRequest`).
        public var stopRequested: Bool
        /// The learning rate this step applied.
        public var learningRate: Float
    }

    /// Runs one step on `globalBatch` (global sample indices, in batch order): `share` gives this
    /// rank its even share of the batch, or of each micro-batch in turn. `where` names the step in
    /// the error thrown for a non-finite loss or gradient.
    public func run(globalBatch: ArraySlice<Int32>, share: EvenShare, globalStep: Int, where: @autoclosure () -> String) throws -> Result {
        buckets?.begin(sums: reduction.pointer)
        lastStatisticsNanoseconds = 0
        guard accumulationSteps > 1 else {
            share.take(globalBatch)
            return try run(sampleCount: share.count, globalStep: globalStep, fill: share.filler, where: `where`())
        }
        return try finishStep(local: runAccumulating(globalBatch, share: share, globalStep: globalStep), where: `where`)
    }

    /// Runs one step over this rank's `sampleCount` samples of the global batch (`fill` writes them),
    /// in one pass. `where` names the step in the error thrown for a non-finite loss or gradient.
    public func run(sampleCount: Int, globalStep: Int, fill: BatchFiller, where: @autoclosure () -> String) throws -> Result {
        buckets?.begin(sums: reduction.pointer)
        lastStatisticsNanoseconds = 0
        let local = runner.gradients(batchSize: sampleCount, parameters: parameters.pointer, state: state.pointer,
                                     globalStep: globalStep, seed: seed, into: reduction.pointer, fill: fill,
                                     reduce: sumStatistics, completed: buckets.map { buckets in { buckets.completed($0) } })
        return try finishStep(local: local, where: `where`)
    }

    /// The gradient sums of `globalBatch`'s micro-batches (consecutive slices of `microBatchSize`
    /// samples, the last one shorter in an epoch's short last batch) into the reduction buffer, one
    /// micro-batch after the other; returns this rank's statistics. Every sample's gradient is the
    /// one it has in a single pass (the layers see the same global step and sample index; batch
    /// statistics aside), and the Double sums only group them differently, which the Float mean
    /// does not see. Every rank runs the same micro-batches (the collectives inside match).
    private func runAccumulating(_ globalBatch: ArraySlice<Int32>, share: EvenShare, globalStep: Int) -> BatchStatistics {
        let total = reduction.pointer, micro = microGradients!.pointer
        var local = BatchStatistics()
        for start in stride(from: globalBatch.startIndex, to: globalBatch.endIndex, by: microBatchSize) {
            share.take(globalBatch[start..<min(start + microBatchSize, globalBatch.endIndex)])
            let first = start == globalBatch.startIndex
            local = local + runner.gradients(batchSize: share.count, parameters: parameters.pointer, state: state.pointer,
                                             globalStep: globalStep, seed: seed, into: first ? total : micro,
                                             fill: share.filler, reduce: sumStatistics)
            if !first {
                runner.forEachParameterSlice { slice in
                    for i in slice { total[i] += micro[i] }
                }
            }
        }
        return local
    }

    /// Sums batch statistics across the ranks (`StatisticsReducer`), timed.
    private func sumStatistics(_ values: UnsafeMutablePointer<Double>, _ count: Int) {
        let start = LayerTimes.now()
        communicator.allreduceSum(values, count: count)
        lastStatisticsNanoseconds += LayerTimes.now() - start
    }

    /// Sums `local` (this rank's gradient sums, already in the reduction buffer, and statistics)
    /// over the ranks and applies the optimizer step.
    private func finishStep(local: BatchStatistics, where: () -> String) throws -> Result {
        let n = model.parameterCount
        reduction[n + Counter.lossSum.rawValue] = local.lossSum
        reduction[n + Counter.correct.rawValue] = Double(local.correct)
        reduction[n + Counter.count.rawValue] = Double(local.count)
        reduction[n + Counter.stopRequests.rawValue] = StopRequest.requested ? 1 : 0
        if let buckets {
            buckets.finish(counters: reduction.pointer + n, count: Counter.allCases.count)
            lastAllreduceNanoseconds = buckets.nanoseconds
        } else {
            let start = LayerTimes.now()
            communicator.allreduceSum(reduction.pointer, count: reduction.count)
            lastAllreduceNanoseconds = LayerTimes.now() - start
        }

        let count = Int(reduction[n + Counter.count.rawValue])
        let penalty = model.regularizationPenalty(parameters.pointer)
        let global = BatchStatistics(lossSum: reduction[n + Counter.lossSum.rawValue] + penalty * Double(count),
                                     correct: Int(reduction[n + Counter.correct.rawValue]), count: count)
        let mean = gradients.pointer, sums = reduction.pointer, scale = 1 / Double(count)
        // Element-wise work (the mean, the optimizer's update) runs on the runner's threads, one
        // parameter slice each, so it does not keep the other threads waiting; the bits are the same.
        var finite = runner.allParameterSlices { slice in
            GradientMean.scaled(sums + slice.lowerBound, by: scale, into: mean + slice.lowerBound, count: slice.count)
        } && global.lossSum.isFinite
        if model.hasRegularization {   // a penalty's gradient can overflow on its own
            model.addRegularizationGradient(parameters.pointer, to: mean)
            for i in 0..<n where !mean[i].isFinite { finite = false }
        }
        guard finite else {
            let what = global.lossSum.isFinite ? "gradient" : "loss (\(global.lossSum))"
            throw TrainingError("non-finite \(what) at \(`where`()); training stopped: try a lower --lr")
        }
        if let clipnorm { GradientClipping.clip(mean, layout: model.parameterLayout, clipnorm: clipnorm) }
        let rate = learningRate
        optimizer.learningRate = rate
        let parameters = parameters.pointer, optimizer = optimizer
        runner.forEachParameterSlice { slice in optimizer.update(parameters: parameters, gradients: mean, range: slice) }
        optimizer.finishStep()
        return Result(statistics: global, stopRequested: reduction[n + Counter.stopRequests.rawValue] > 0, learningRate: rate)
    }
}

extension LabelledImages {
    /// Fills batches with samples `range` of this set, in order.
    public var filler: BatchFiller {
        { range, images, labels, sampleIDs in
            for (slot, sample) in range.enumerated() {
                labels[slot] = self.write(sample: sample, to: images + slot * self.sampleSize)
                sampleIDs[slot] = Int64(self.shard.globalIndex(of: sample))
            }
        }
    }
}
