/// Loss, accuracy and sample count summed over some samples.
public struct BatchStatistics: Equatable, Sendable {
    public var lossSum: Double = 0
    public var correct: Int = 0
    public var count: Int = 0

    public init(lossSum: Double = 0, correct: Int = 0, count: Int = 0) {
        self.lossSum = lossSum
        self.correct = correct
        self.count = count
    }

    public var meanLoss: Double { count > 0 ? lossSum / Double(count) : .nan }
    public var accuracy: Double { count > 0 ? Double(correct) / Double(count) : .nan }

    public static func + (a: BatchStatistics, b: BatchStatistics) -> BatchStatistics {
        BatchStatistics(lossSum: a.lossSum + b.lossSum, correct: a.correct + b.correct, count: a.count + b.count)
    }
}

/// Writes samples `range` of the current batch: `range.count` images (NHWC floats) and labels.
/// Called concurrently from worker threads, each with its own disjoint range and buffers.
public typealias BatchFiller = (_ range: Range<Int>, _ images: UnsafeMutablePointer<Float>,
                                _ labels: UnsafeMutablePointer<Int32>) -> Void

/// Runs a model over batches on a `WorkerPool`: the batch is cut into one contiguous share per
/// thread, each thread runs forward and backward on its share in its own `Workspace`, a few samples
/// (`chunkSize`) at a time, and the per-thread gradients are summed in thread order. No thread waits
/// on another until the sum. For a fixed thread count the Double sums are bit-for-bit reproducible;
/// across thread counts they agree to ~1e-16, which the Float gradient does not see (the tests check
/// its bits for 1-4 threads).
///
/// Why chunks: the layers' outputs for a whole share (conv1 alone is 2.8 MB for 32 images) do not
/// fit in a core's cache, and the element-wise passes (ReLU, pooling, im2col) then wait on memory.
/// A few images at a time stay in L2. The chunk size changes no bit of any result: every kernel
/// computes a sample independently of its neighbours, and within a thread the weight gradients are
/// added per sample in sample order however the share is chunked.
public final class ModelRunner {
    public let model: Sequential
    public let pool: WorkerPool
    /// Largest batch `gradients` accepts.
    public let maxBatch: Int
    private let workspaces: [Workspace]
    /// Each layer's `prepare` output for the parameters of the current `gradients` call.
    private let prepared: FloatBuffer
    private let preparedPointers: [UnsafeMutablePointer<Float>]

    /// Samples per forward/backward pass inside a thread's share; see the type's notes. Measured
    /// with `convnet-dist bench --chunk-size`: 3-4 beat 1, 8, 16 and the whole share on this model.
    public static let defaultChunkSize = 4

    public init(model: Sequential, maxBatch: Int, threads: Int, chunkSize: Int = ModelRunner.defaultChunkSize) {
        precondition(maxBatch >= 1 && threads >= 1 && chunkSize >= 1)
        Matmul.useCallerThreadOnly()
        self.model = model
        self.maxBatch = maxBatch
        pool = WorkerPool(size: threads)
        let capacity = min(chunkSize, (maxBatch + threads - 1) / threads)
        let counts = model.layers.map(\.preparedCount)
        let prepared = FloatBuffer(count: max(counts.reduce(0, +), 1))
        let offsets = counts.indices.map { counts[..<$0].reduce(0, +) }
        let pointers = offsets.map { prepared.pointer + $0 }
        self.prepared = prepared
        preparedPointers = pointers
        workspaces = (0..<threads).map { _ in Workspace(model: model, capacity: capacity, prepared: pointers.map { UnsafePointer($0) }) }
    }

    public var threads: Int { pool.size }

    /// Starts timing every layer on worker 0 (which runs a `1 / threads` share of each batch);
    /// returns the accumulator.
    public func profileLayers() -> LayerTimes {
        let times = LayerTimes(layers: model.layers.count)
        workspaces[0].times = times
        return times
    }

    /// Computes the gradient of the **summed** loss over a batch of `batchSize` samples into
    /// `gradients` (overwritten, `model.parameterCount` long) and returns the batch statistics.
    /// The sum is in Double and, up to ~1e-16, independent of how many threads share the batch.
    public func gradients(batchSize: Int, parameters: UnsafePointer<Float>,
                          into gradients: UnsafeMutablePointer<Double>, fill: BatchFiller) -> BatchStatistics {
        precondition(batchSize <= maxBatch, "batch \(batchSize) exceeds the runner's capacity \(maxBatch)")
        for (i, layer) in model.layers.enumerated() {
            layer.prepare(parameters: parameters + model.parameterOffsets[i], into: preparedPointers[i])
        }
        var perThread = [BatchStatistics](repeating: BatchStatistics(), count: threads)
        perThread.withUnsafeMutableBufferPointer { statistics in
            pool.run { t in
                let workspace = workspaces[t]
                let share = WorkerPool.partition(batchSize, parts: threads, index: t)
                workspace.parameterGradients.fill(0)
                statistics[t] = forEachChunk(of: share, in: workspace) { range in
                    pass(workspace, range: range, parameters: parameters, fill: fill, backward: true).statistics
                }
            }
        }
        sumThreadGradients(into: gradients)
        return perThread.reduce(BatchStatistics(), +)
    }

    /// Forward pass over `sampleCount` samples (any number; each thread takes a contiguous share and
    /// walks it in chunks). Returns loss and accuracy against the filled labels, and writes the
    /// softmax outputs `[sampleCount, classes]` when `probabilities` is given.
    public func evaluate(sampleCount: Int, parameters: UnsafePointer<Float>,
                         probabilities: UnsafeMutablePointer<Float>? = nil, fill: BatchFiller) -> BatchStatistics {
        var perThread = [BatchStatistics](repeating: BatchStatistics(), count: threads)
        let classes = model.classes
        perThread.withUnsafeMutableBufferPointer { statistics in
            pool.run { t in
                let workspace = workspaces[t]
                let share = WorkerPool.partition(sampleCount, parts: threads, index: t)
                statistics[t] = forEachChunk(of: share, in: workspace) { range in
                    let (chunk, output) = pass(workspace, range: range, parameters: parameters, fill: fill, backward: false)
                    probabilities?.advanced(by: range.lowerBound * classes).update(from: output, count: range.count * classes)
                    return chunk
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

    /// Fills samples `range` into `workspace` and runs the forward pass and the loss, then, with
    /// `backward`, the backward pass (adding to the workspace's parameter gradients). Returns the
    /// statistics and the softmax outputs (valid until the workspace runs again).
    private func pass(_ workspace: Workspace, range: Range<Int>, parameters: UnsafePointer<Float>, fill: BatchFiller,
                      backward: Bool) -> (statistics: BatchStatistics, output: UnsafeMutablePointer<Float>) {
        fill(range, workspace.input.pointer, workspace.labels.pointer)
        let output = workspace.forward(model: model, count: range.count, parameters: parameters)
        let (lossSum, correct) = SoftmaxCrossEntropy.lossAndGradient(
            probabilities: output, labels: workspace.labels.pointer, batch: range.count, classes: model.classes,
            dLogits: backward ? workspace.gradientIn.pointer : nil)
        if backward { workspace.backward(model: model, count: range.count, parameters: parameters) }
        return (BatchStatistics(lossSum: lossSum, correct: correct, count: range.count), output)
    }

    /// `gradients = sum_t workspace[t].gradients`, added in thread order; each thread sums one
    /// slice of the parameters, so the order (and the result) does not depend on timing.
    private func sumThreadGradients(into gradients: UnsafeMutablePointer<Double>) {
        let count = model.parameterCount
        pool.run { t in
            let slice = WorkerPool.partition(count, parts: threads, index: t)
            let out = gradients + slice.lowerBound
            out.update(from: workspaces[0].parameterGradients.pointer + slice.lowerBound, count: slice.count)
            for w in workspaces.dropFirst() {
                let source = w.parameterGradients.pointer + slice.lowerBound
                for i in 0..<slice.count { out[i] += source[i] }
            }
        }
    }
}
