import ConvNetConfig
import Communication
import ConvNetCore
import ConvNetData
import DataFormats

/// Test-set evaluation of a checkpoint on any number of ranks: each rank scores its strided shard
/// of the test set on its threads and one allreduce gathers the figures (`ShardedEvaluation`), so
/// they are the same, to the last bit, for any rank and thread count.
public struct CheckpointEvaluation {
    /// Samples the runner is built for; it walks the set in chunks.
    static let batch = 256

    public let checkpoint: Checkpoint
    /// The file held plain weights (a run folder's `model.safetensors`), not a checkpoint.
    public let plainWeights: Bool
    public let statistics: BatchStatistics
    /// Softmax outputs of the first test images, rank 0 only (when asked for).
    public let outputs: [[Float]]

    /// `dataDirectory` gives the data folder for the checkpoint's config; `dataFormat` nil: the
    /// checkpoint's config says how the data folder stores the data.
    public static func run(checkpointPath: String, dataDirectory: (ExperimentConfig) -> String, dataFormat: String? = nil, threads: Int,
                           outputCount: Int, budget: MemoryBudget? = nil,
                           communicator: any Communicator) throws -> CheckpointEvaluation {
        let (checkpoint, plainWeights) = try Checkpoint.loadModel(path: checkpointPath)
        let model = try Sequential(checkpoint.config.model)
        let limit = budget ?? .machine(sharedBy: communicator.localSize)
        // The evaluation's estimate with `held` samples in memory (`MemoryBudget`'s rule).
        func checkMemory(held: Int) throws {
            var estimate = MemoryEstimate(model: model, maxBatch: batch, threads: threads,
                                          chunkSize: ModelRunner.defaultChunkSize, optimizerSlots: 0)
            estimate.addData(samples: held, sampleSize: model.inputShape.count)
            try limit.check(estimate, advice: "lower --threads")
        }
        try checkMemory(held: 1)
        let parameters = FloatBuffer(checkpoint.parameters), state = FloatBuffer(checkpoint.state)
        let directory = dataDirectory(checkpoint.config)
        let files = try DataFormat.files(format: dataFormat ?? checkpoint.config.dataFormat, directory: directory,
                                         options: DataSetOptions(threads: threads, skipBadFiles: checkpoint.config.skipBadFiles))
        guard files.hasTestSet else {
            throw TrainingError("\(directory) has no test set (its <class>/* folders are training pictures): "
                                + "give --data-dir a folder with test/<class>/*")
        }
        try checkpoint.requireSameClasses(as: try files.classNames(), path: checkpointPath)
        let shape = model.inputShape.dimensions
        let test = try files.loadTest(shard: Shard(index: communicator.rank, count: communicator.size),
                                      expectedShape: shape, classes: model.classes)
        try checkMemory(held: test.count + (communicator.isRoot && outputCount > 0 ? test.totalCount : 0))
        let runner = ModelRunner(model: model, loss: checkpoint.config.loss, maxBatch: batch, threads: threads)
        let statistics = ShardedEvaluation(set: test).run(runner: runner, model: model, parameters: parameters.pointer,
                                                          state: state.pointer, communicator: communicator)
        var outputs: [[Float]] = []
        if communicator.isRoot && outputCount > 0 {
            let first = try files.loadTest(shard: .whole, expectedShape: shape, classes: model.classes)
            let count = min(outputCount, first.count)
            var probabilities = [Float](repeating: 0, count: count * model.classes)
            _ = probabilities.withUnsafeMutableBufferPointer {
                runner.evaluate(sampleCount: count, parameters: parameters.pointer, state: state.pointer,
                                probabilities: $0.baseAddress!, fill: first.filler)
            }
            outputs = (0..<count).map { Array(probabilities[($0 * model.classes)..<(($0 + 1) * model.classes)]) }
        }
        return CheckpointEvaluation(checkpoint: checkpoint, plainWeights: plainWeights, statistics: statistics, outputs: outputs)
    }
}
