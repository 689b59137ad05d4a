import CKernels

/// Runs a model over batches on a `WorkerPool`: the batch is cut into one contiguous share per
/// thread, each thread runs forward and backward on its share in its own `Workspace`, a few samples
/// (`chunkSize`) at a time, and the per-thread gradients are summed in thread order. It is one
/// hand-off to the pool per step: the threads share out the layers' `prepare`, and meet only before
/// their first backward pass (everything prepared) and before the sum (every gradient complete).
/// For a fixed thread count the Double sums are bit-for-bit reproducible; across thread counts they
/// agree to ~1e-16, which the Float gradient does not see (the tests check its bits for 1-4 threads).
///
/// Why chunks: the layers' outputs for a whole share (conv1 alone is 2.8 MB for 32 images) do not
/// fit in a core's cache, and the element-wise passes (ReLU, pooling, im2col) then wait on memory.
/// A few images at a time stay in L2. The chunk size changes no bit of any result: every kernel
/// computes a sample independently of its neighbours, and within a thread the weight gradients are
/// added per sample in sample order however the share is chunked.
///
/// Models with batch normalisation need the whole global batch's statistics in the middle of the
/// pass, so their training steps run in stages instead: every thread takes its whole share up to
/// the next such layer, the threads' partial statistics are summed in thread order and across ranks
/// (`StatisticsReducer`), and the next stage goes on from there; backward likewise.
public final class ModelRunner {
    public let model: Sequential
    public let loss: any Loss
    let pool: WorkerPool
    /// Largest batch `gradients` accepts.
    public let maxBatch: Int
    let workspaces: [Workspace]
    /// Each layer's `prepare` output for the parameters of the current `gradients` call.
    private let prepared: FloatBuffer
    private let preparedPointers: [UnsafeMutablePointer<Float>]
    /// Each layer's statistics of the global batch (empty for most layers), and a buffer to sum into.
    let statistics: [DoubleBuffer]
    let statisticsSum: DoubleBuffer
    /// The read-only views every worker gets, made once rather than per step.
    private let preparedViews: [UnsafePointer<Float>]
    private let statisticsViews: [UnsafePointer<Double>]
    /// Each worker's parameter gradients, summed in thread order into the caller's buffer. One
    /// thread (as every rank of `mpirun -np N --threads 1`) has nothing to sum and adds straight into
    /// the caller's buffer: no copy of the 0.75 MB per step.
    private let threadGradientBuffers: [DoubleBuffer]
    let threadGradients: [UnsafePointer<Double>?]
    /// The loss writes the logits' gradient (softmax fused with cross-entropy).
    let fusedOutput: Bool
    /// The layers whose `prepare` each thread runs: shared out so the threads' prepared floats
    /// balance (the largest layer to the thread with the fewest so far), since the first backward
    /// pass waits for the slowest thread. Taking every `threads`-th layer had given conv2, conv3
    /// and dense_1, 99% of the reference model's, to thread 0.
    private let preparedBy: [[Int]]

    /// Samples per forward/backward pass inside a thread's share; see the type's notes. Measured
    /// with `convnet-dist bench --chunk-size`: 3-4 beat 1, 8, 16 and the whole share on this model.
    public static let defaultChunkSize = 4

    public init(model: Sequential, loss: any Loss = CategoricalCrossentropy(), maxBatch: Int, threads: Int,
                chunkSize: Int = ModelRunner.defaultChunkSize) {
        precondition(maxBatch >= 1 && threads >= 1 && chunkSize >= 1)
        Matmul.useCallerThreadOnly()
        self.model = model
        self.loss = loss
        self.maxBatch = maxBatch
        fusedOutput = loss.fusesSoftmax(outputActivation: model.outputActivation)
        pool = WorkerPool(size: threads)
        let share = (maxBatch + threads - 1) / threads
        let capacity = model.synchronisesBatches ? share : min(chunkSize, share)
        let counts = model.fastPaths.map(\.preparedCount)
        let prepared = FloatBuffer(count: max(counts.reduce(0, +), 1))
        let offsets = counts.indices.map { counts[..<$0].reduce(0, +) }
        self.prepared = prepared
        preparedPointers = offsets.map { prepared.pointer + $0 }
        statistics = model.fastPaths.map { DoubleBuffer(count: $0.statisticsCount) }
        statisticsSum = DoubleBuffer(count: model.fastPaths.map(\.statisticsCount).max() ?? 0)
        workspaces = (0..<threads).map { _ in Workspace(model: model, capacity: capacity, shareCapacity: share) }
        preparedViews = preparedPointers.map { UnsafePointer($0) }
        statisticsViews = statistics.map { UnsafePointer($0.pointer) }
        threadGradientBuffers = threads == 1 ? [] : workspaces.map { _ in DoubleBuffer(count: model.parameterCount) }
        threadGradients = threadGradientBuffers.map { UnsafePointer($0.pointer) }
        var preparedBy = [[Int]](repeating: [], count: threads), load = [Int](repeating: 0, count: threads)
        for i in counts.indices.filter({ counts[$0] > 0 }).sorted(by: { (counts[$0], $1) > (counts[$1], $0) }) {
            let t = load.indices.min { (load[$0], $0) < (load[$1], $1) }!
            preparedBy[t].append(i)
            load[t] += counts[i]
        }
        self.preparedBy = preparedBy
    }

    public var threads: Int { pool.size }

    /// Where thread `t` sums its samples' parameter gradients in a `gradients` call writing to `result`.
    func gradientSums(_ t: Int, result: UnsafeMutablePointer<Double>) -> UnsafeMutablePointer<Double> {
        threads == 1 ? result : threadGradientBuffers[t].pointer
    }

    /// Starts timing every layer on worker 0 (which runs a `1 / threads` share of each batch);
    /// returns the accumulator.
    public func profileLayers() -> LayerTimes {
        let times = LayerTimes(layers: model.layers.count)
        workspaces[0].times = times
        return times
    }

    private func arguments(parameters: UnsafePointer<Float>, state: UnsafePointer<Float>, globalStep: Int, seed: UInt64) -> StepArguments {
        StepArguments(parameters: parameters, state: state, prepared: preparedViews,
                      statistics: statisticsViews, stateOffsets: model.stateOffsets,
                      globalStep: globalStep, seed: seed)
    }

    /// Computes the gradient of the **summed** loss over a batch of `batchSize` samples into
    /// `gradients` (overwritten, `model.parameterCount` long) and returns the batch statistics.
    /// The sum is in Double and, up to ~1e-16, independent of how many threads share the batch.
    /// `state` is updated by layers that keep moving averages (`reduce` sums their statistics
    /// across ranks). `globalStep` and `seed` reach the layers (dropout masks).
    public func gradients(batchSize: Int, parameters: UnsafePointer<Float>, state: UnsafeMutablePointer<Float>,
                          globalStep: Int = 0, seed: UInt64 = 0,
                          into gradients: UnsafeMutablePointer<Double>, fill: BatchFiller,
                          reduce: StatisticsReducer = { _, _ in }, completed: GradientsCompleted? = nil) -> BatchStatistics {
        precondition(batchSize <= maxBatch, "batch \(batchSize) exceeds the runner's capacity \(maxBatch)")
        let step = arguments(parameters: parameters, state: state, globalStep: globalStep, seed: seed)
        let callStart = workspaces[0].times == nil ? 0 : LayerTimes.now()
        defer { workspaces[0].times?.add(.gradients, since: callStart) }
        var perThread = [BatchStatistics](repeating: BatchStatistics(), count: threads)
        if model.synchronisesBatches {
            pool.run { t in prepareLayers(parameters, share: t) }
            stagedTrainingPass(batchSize: batchSize, step: step, state: state, fill: fill, reduce: reduce,
                               gradients: gradients, completed: completed, into: &perThread)
        } else {
            perThread.withUnsafeMutableBufferPointer { statistics in
                pool.run { t in
                    prepareLayers(parameters, share: t)
                    let prepared = pool.arrive()
                    let workspace = workspaces[t]
                    let share = WorkerPool.partition(batchSize, parts: threads, index: t)
                    let sums = gradientSums(t, result: gradients)
                    sums.update(repeating: 0, count: model.parameterCount)
                    statistics[t] = forEachChunk(of: share, in: workspace) { range in
                        fill(range, workspace.input.pointer, workspace.labels.pointer, workspace.sampleIDs.pointer)
                        let layers = 0..<model.layers.count
                        let output = workspace.forward(model, layers: layers, count: range.count, step: step, training: true)
                        let chunk = scoreOutputs(output, workspace: workspace, count: range.count, backward: true)
                        pool.wait(prepared)   // backward reads every layer's prepared parameters
                        workspace.backward(model, layers: layers, count: range.count, step: step, fusedOutput: fusedOutput,
                                           parameterGradients: sums, shareOffset: range.lowerBound - share.lowerBound)
                        return chunk
                    }
                    workspace.addDeferredGradients(model, samples: share.count, parameterGradients: sums)
                    pool.wait(prepared)   // also a thread without samples: a phase ends before the next begins
                    pool.barrier()   // every thread's gradients complete before they are summed
                    sumThreadGradients(into: gradients, share: t)
                }
            }
            completed?(0..<model.parameterCount)
        }
        return perThread.reduce(BatchStatistics(), +)
    }

    /// Thread `t`'s part of `PreparedParameters.prepare` for these parameters (see `preparedBy`).
    private func prepareLayers(_ parameters: UnsafePointer<Float>, share t: Int) {
        for i in preparedBy[t] {
            model.fastPaths[i].prepared!.prepare(parameters: parameters + model.parameterOffsets[i], into: preparedPointers[i])
        }
    }

    /// Forward pass over `sampleCount` samples (any number; each thread takes a contiguous share and
    /// walks it in chunks) in inference mode. Returns loss and accuracy against the filled labels,
    /// and writes the model's outputs `[sampleCount, classes]` when `probabilities` is given, and
    /// each sample's loss when `sampleLosses` is (`sampleCount` values; a sample's loss does not
    /// depend on the thread count, so callers can add them up in an order of their choosing).
    public func evaluate(sampleCount: Int, parameters: UnsafePointer<Float>, state: UnsafePointer<Float>,
                         probabilities: UnsafeMutablePointer<Float>? = nil, sampleLosses: UnsafeMutablePointer<Double>? = nil,
                         fill: BatchFiller) -> BatchStatistics {
        var perThread = [BatchStatistics](repeating: BatchStatistics(), count: threads)
        let classes = model.classes
        let step = arguments(parameters: parameters, state: state, globalStep: 0, seed: 0)
        perThread.withUnsafeMutableBufferPointer { statistics in
            pool.run { t in
                let workspace = workspaces[t]
                let share = WorkerPool.partition(sampleCount, parts: threads, index: t)
                statistics[t] = forEachChunk(of: share, in: workspace) { range in
                    fill(range, workspace.input.pointer, workspace.labels.pointer, workspace.sampleIDs.pointer)
                    let output = workspace.forward(model, layers: 0..<model.layers.count, count: range.count,
                                                   step: step, training: false)
                    probabilities?.advanced(by: range.lowerBound * classes).update(from: output, count: range.count * classes)
                    return scoreOutputs(output, workspace: workspace, count: range.count, backward: false,
                                        losses: sampleLosses.map { $0 + range.lowerBound })
                }
            }
        }
        return perThread.reduce(BatchStatistics(), +)
    }

    /// Runs `body` on consecutive pieces of `share` of at most `workspace.capacity` samples, in order,
    /// and adds up what it returns.
    private func forEachChunk(of share: Range<Int>, in workspace: Workspace,
                              _ body: (Range<Int>) -> BatchStatistics) -> BatchStatistics {
        var total = BatchStatistics()
        for start in stride(from: share.lowerBound, to: share.upperBound, by: workspace.capacity) {
            total = total + body(start..<min(start + workspace.capacity, share.upperBound))
        }
        return total
    }

    /// The loss and accuracy of `count` outputs against the workspace's labels; with `backward`,
    /// the loss gradient goes to `outputGradient` of the last layer for the backward pass; with `losses`, each sample's loss goes there.
    func scoreOutputs(_ output: UnsafePointer<Float>, workspace: Workspace, count: Int, backward: Bool,
                              losses: UnsafeMutablePointer<Double>? = nil) -> BatchStatistics {
        let classes = model.classes, labels = workspace.labels.pointer, gradient = workspace.outputGradient(model.layers.count - 1)
        var lossSum = 0.0, correct = 0
        for n in 0..<count {
            let row = output + n * classes, label = Int(labels[n])
            let sampleLoss = loss.sampleLoss(output: row, label: label, classes: classes, fused: fusedOutput,
                                             gradient: backward ? gradient + n * classes : nil)
            lossSum += sampleLoss
            losses?[n] = sampleLoss
            if LossMath.argmax(row, count: classes) == label { correct += 1 }
        }
        return BatchStatistics(lossSum: lossSum, correct: correct, count: count)
    }

    /// Thread `t`'s slice of `gradients = sum_t workspace[t].gradients`, added in thread order: the
    /// order (and the result) does not depend on timing. One pass in C over each slice, so each
    /// thread reads the other threads' sums once.
    private func sumThreadGradients(into gradients: UnsafeMutablePointer<Double>, share t: Int) {
        guard threads > 1 else { return }
        let slice = WorkerPool.partition(model.parameterCount, parts: threads, index: t)
        ck_sum_in_order(threadGradients, Int32(threads), slice.lowerBound, slice.count, gradients)
    }
}
