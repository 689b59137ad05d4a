import Communication
import ConvNetConfig
import ConvNetCore
import ConvNetData
import Foundation
import Training

/// What `convnet-dist bench` measures, in one run: the machine's SGEMM peak through the linked
/// BLAS, training throughput and its fraction of that peak, a per-layer time split, evaluation of
/// 10,000 images, and the allreduce per step when run under mpirun.
public struct BenchmarkReport: Codable {
    /// One layer's share of a step on one worker thread (which computes `batch / threads` samples),
    /// and its speed against one core's share of the SGEMM peak (`sgemmPeakGflops / sgemmPeakThreads`),
    /// so the layer furthest from the peak shows at once. FLOPs count two per multiply-add of the
    /// layer's products (forward; weight gradient plus input gradient but for the first layer);
    /// element-wise layers (pooling, flatten) have none and report 0.
    public struct LayerTime: Codable {
        public var layer: String
        public var forwardMilliseconds: Double
        public var backwardMilliseconds: Double
        public var forwardGflops: Double
        public var backwardGflops: Double
        public var forwardFractionOfPeak: Double
        public var backwardFractionOfPeak: Double
        /// The layer's forward product at one chunk's size (`m x n x k`, e.g. `484x64x288`), timed
        /// alone on one thread with the row-wise kernel and with BLAS's SGEMM: what each reaches at
        /// this shape, against the 2048^3 peak (nil and 0 for layers without a product).
        public var product: String?
        public var productRowwiseGflops: Double
        public var productBLASGflops: Double
        /// How a convolution runs (`Conv2D.route`: `direct`, `im2col` or `winograd`); nil for other layers.
        public var route: String? = nil
    }

    public var blas: String
    public var rowwiseKernel: String
    public var ranks: Int
    public var threads: Int
    public var chunkSize: Int
    public var batchSize: Int
    /// Micro-batches per optimizer step (`accumulation_steps`), each of `batchSize / accumulationSteps` samples.
    public var accumulationSteps: Int
    public var sgemmPeakGflops: Double
    public var sgemmPeakThreads: Int
    public var rowwiseKernelGflopsPerThread: Double
    public var flopsPerTrainingSample: Double
    public var trainingSamplesPerSecond: Double
    /// Training samples in an epoch of the benchmarked data (as `train` runs it, without the
    /// `validation_split`): the data folder's, or for synthetic images the size of the config's
    /// named data set (MNIST's 60,000, CIFAR-10's 50,000); 0 where not set.
    public var epochSamples: Int = 0
    public var trainingGflops: Double
    public var fractionOfSgemmPeak: Double
    public var stepMilliseconds: Double
    /// Time per step spent in the gradient allreduce (median), 0 for one process.
    public var allreduceMilliseconds: Double
    /// Time per step spent in batch norm's statistics sums across ranks (median, rank 0), 0 for one
    /// process or a model without batch norm.
    public var statisticsMilliseconds: Double = 0
    /// Per layer, on one worker thread (which computes 1/threads of each batch), per step.
    public var layers: [LayerTime]
    /// Worker 0's time per step outside the layers' passes (`StepPart`'s labels; 0 where a model
    /// never stops: only the staged pass of batch-statistics models is split), and what is left:
    /// inside `gradients` but in no part or layer, and outside it (optimizer, allreduce, data).
    public var stepParts: [StepPartTime] = []
    public struct StepPartTime: Codable {
        public var part: String
        public var milliseconds: Double
    }
    public var evaluationSeconds: Double
    public var evaluationImages: Int
    /// Forward-pass GFLOP/s of the evaluation (two FLOPs per multiply-add) and its fraction of the SGEMM peak.
    public var evaluationGflops: Double
    public var evaluationFractionOfPeak: Double
    /// Rank 0's peak resident memory after training and evaluation (the SGEMM peak's 48 MiB of
    /// operands, freed before training, included only where they are more) and its estimate for the
    /// training run (`RunMemory`), in bytes; 0 where not measured.
    public var peakResidentBytes: Double = 0
    public var estimatedBytes: Double = 0
    /// The estimate's parts (`MemoryEstimate`): every thread's workspace, and of it the layer
    /// outputs, what layers keep for backward and the backward gradients; the data held; the
    /// weights, gradient sums and optimizer state.
    public var estimatedWorkspaceBytes: Double = 0
    public var estimatedLayerOutputBytes: Double = 0
    public var estimatedSavedBytes: Double = 0
    public var estimatedGradientBytes: Double = 0
    public var estimatedDataBytes: Double = 0
    public var estimatedWeightBytes: Double = 0
    /// CPU time per step of the timed steps, the mean over ranks of each rank's own (user: its
    /// computing, and its spinning while MPI waits; system: its system calls, the socket copies of
    /// TCP among them), and of the whole machine rank 0 runs on (`CPUTime.machine`, all cores and
    /// all processes: the interrupt work is where the kernel handles TCP's packets); 0 where unknown.
    public var rankUserMilliseconds: Double = 0
    public var rankSystemMilliseconds: Double = 0
    public var machineUserMilliseconds: Double = 0
    public var machineSystemMilliseconds: Double = 0
    public var machineInterruptMilliseconds: Double = 0
    public var machineIdleMilliseconds: Double = 0
}

public enum Benchmark {
    /// Runs the benchmark of `config`'s training step (its model, loss, optimizer, schedule and global
    /// batch). `images` supplies training/evaluation samples; every rank takes part, and the report
    /// (valid on rank 0) describes the whole job.
    public static func run(config: ExperimentConfig, model: Sequential, images: LabelledImages, threads: Int,
                           chunkSize: Int = ModelRunner.defaultChunkSize, steps: Int,
                           communicator: any Communicator) -> BenchmarkReport {
        let (peak, peakThreads) = communicator.isRoot ? sgemmPeak(threads: SystemInfo.onlineCores()) : (0, 0)
        let rowwise = communicator.isRoot ? rowwiseGflops() : 0
        Matmul.useCallerThreadOnly()

        let batchSize = config.batchSize
        let samplesPerRank = DataParallelStep.samplesPerRank(batchSize: batchSize, trainingCount: images.totalCount,
                                                             ranks: communicator.size, accumulationSteps: config.accumulationSteps)
        // The runner never runs more than a thread's share at once (a larger chunk is that share), and
        // runs the whole share at once where batches synchronise (batch norm): the chunk it really uses.
        let threadShare = (samplesPerRank + threads - 1) / threads
        let chunkSize = model.synchronisesBatches ? threadShare : min(chunkSize, threadShare)
        let trainer = DataParallelStep(model: model, config: config, threads: threads, chunkSize: chunkSize,
                                       maxBatch: samplesPerRank, communicator: communicator)
        let runner = trainer.runner, parameters = trainer.parameters
        Initialization.glorotUniform(model, seed: config.seed, into: parameters)
        let share = EvenShare(data: images, communicator: communicator, maxBatch: min(trainer.microBatchSize, images.totalCount))
        let schedule = EpochSchedule(totalCount: images.totalCount, batchSize: batchSize, seed: 1, epoch: 1, shuffle: true)

        var allreduceNanos: [UInt64] = [], statisticsNanos: [UInt64] = []
        func step(_ k: Int) {
            _ = try? trainer.run(globalBatch: schedule.globalBatch(step: k % schedule.steps), share: share, globalStep: k,
                                 where: "bench step \(k)")
            allreduceNanos.append(trainer.lastAllreduceNanoseconds)
            statisticsNanos.append(trainer.lastStatisticsNanoseconds)
        }
        for k in 0..<min(20, steps) { step(k) }   // warm up caches, pages and BLAS buffers
        allreduceNanos.removeAll()
        statisticsNanos.removeAll()
        let times = runner.profileLayers()
        communicator.barrier()
        let start = LayerTimes.now(), processStart = CPUTime.process(), machineStart = CPUTime.machine()
        for k in 0..<steps { step(k) }
        communicator.barrier()
        let seconds = Double(LayerTimes.now() - start) / 1e9
        let processEnd = CPUTime.process(), machine = machineStart.flatMap { start in CPUTime.machine()?.since(start) }
        var rankCPU = [processEnd.user - processStart.user, processEnd.system - processStart.system]
        communicator.allreduceSum(&rankCPU, count: rankCPU.count)
        let perStep = 1000 / Double(steps), perRankStep = perStep / Double(communicator.size)

        let flops = Double(trainingFlopsPerSample(model))
        let samplesPerSecond = Double(steps * batchSize) / seconds
        // Samples the profiled worker thread (the first share of this rank's part of each micro-batch) computes per step.
        let samplesPerThread = Double(WorkerPool.partition(share.count, parts: threads, index: 0).count * config.accumulationSteps)
        let corePeak = peakThreads > 0 ? peak / Double(peakThreads) : 0
        var layers = model.layerNames.indices.map { i in
            let forwardSeconds = Double(times.forwardNanoseconds[i]) / 1e9 / Double(steps)
            let backwardSeconds = Double(times.backwardNanoseconds[i]) / 1e9 / Double(steps)
            let multiplyAdds = Double(model.fastPaths[i].forwardMultiplyAdds) * samplesPerThread
            let forwardGflops = forwardSeconds > 0 ? 2 * multiplyAdds / forwardSeconds / 1e9 : 0
            let backwardGflops = backwardSeconds > 0 ? 2 * multiplyAdds * (model.computesInputGradient(i) ? 2 : 1) / backwardSeconds / 1e9 : 0
            let shape = model.fastPaths[i].forwardProduct.map { (m: $0.rowsPerSample * chunkSize, n: $0.columns, k: $0.depth) }
            return BenchmarkReport.LayerTime(layer: model.layerNames[i], forwardMilliseconds: forwardSeconds * 1000,
                                             backwardMilliseconds: backwardSeconds * 1000,
                                             forwardGflops: forwardGflops, backwardGflops: backwardGflops,
                                             forwardFractionOfPeak: corePeak > 0 ? forwardGflops / corePeak : 0,
                                             backwardFractionOfPeak: corePeak > 0 ? backwardGflops / corePeak : 0,
                                             product: shape.map { "\($0.m)x\($0.n)x\($0.k)" },
                                             productRowwiseGflops: 0, productBLASGflops: 0,
                                             route: (model.layers[i] as? Conv2D)?.route)
        }

        let parts = stepPartTimes(times, steps: steps, stepMilliseconds: seconds * 1000 / Double(steps))
        // Evaluation: rank 0, 10,000 images (the test set's size), cycling through the data if smaller.
        var evaluationSeconds = 0.0, evaluationImages = 0
        if communicator.isRoot {
            evaluationImages = 10_000
            let evalStart = LayerTimes.now()
            _ = runner.evaluate(sampleCount: evaluationImages, parameters: parameters.pointer, state: trainer.state.pointer) {
                range, x, labels, sampleIDs in
                for (slot, sample) in range.enumerated() {
                    labels[slot] = images.write(sample: sample % images.count, to: x + slot * images.sampleSize)
                    sampleIDs[slot] = Int64(sample)
                }
            }
            evaluationSeconds = Double(LayerTimes.now() - evalStart) / 1e9
        }
        let forwardFlops = 2 * Double(model.forwardMultiplyAdds)
        let evaluationGflops = evaluationSeconds > 0 ? forwardFlops * Double(evaluationImages) / evaluationSeconds / 1e9 : 0
        let sortedAllreduce = allreduceNanos.sorted(), sortedStatistics = statisticsNanos.sorted()
        // Read before the products below allocate their operands, which the run itself never holds.
        let peakResidentBytes = Double(SystemInfo.peakResidentBytes() ?? 0)
        if communicator.isRoot {
            for i in layers.indices {
                guard let shape = model.fastPaths[i].forwardProduct else { continue }
                let speeds = productGflops(m: shape.rowsPerSample * chunkSize, n: shape.columns, k: shape.depth)
                (layers[i].productRowwiseGflops, layers[i].productBLASGflops) = (speeds.rowwise, speeds.blas)
            }
        }
        return BenchmarkReport(
            blas: Matmul.blasDescription, rowwiseKernel: Matmul.rowwiseKernelName, ranks: communicator.size, threads: threads,
            chunkSize: chunkSize, batchSize: batchSize, accumulationSteps: config.accumulationSteps, sgemmPeakGflops: peak, sgemmPeakThreads: peakThreads, rowwiseKernelGflopsPerThread: rowwise,
            flopsPerTrainingSample: flops, trainingSamplesPerSecond: samplesPerSecond,
            trainingGflops: samplesPerSecond * flops / 1e9, fractionOfSgemmPeak: peak > 0 ? samplesPerSecond * flops / 1e9 / peak : 0,
            stepMilliseconds: seconds * 1000 / Double(steps),
            allreduceMilliseconds: communicator.size > 1 ? Double(sortedAllreduce[sortedAllreduce.count / 2]) / 1e6 : 0,
            statisticsMilliseconds: communicator.size > 1 ? Double(sortedStatistics[sortedStatistics.count / 2]) / 1e6 : 0,
            layers: layers, stepParts: parts, evaluationSeconds: evaluationSeconds, evaluationImages: evaluationImages,
            evaluationGflops: evaluationGflops, evaluationFractionOfPeak: peak > 0 ? evaluationGflops / peak : 0,
            peakResidentBytes: peakResidentBytes,
            rankUserMilliseconds: rankCPU[0] * perRankStep, rankSystemMilliseconds: rankCPU[1] * perRankStep,
            machineUserMilliseconds: (machine?.user ?? 0) * perStep, machineSystemMilliseconds: (machine?.system ?? 0) * perStep,
            machineInterruptMilliseconds: (machine?.interrupts ?? 0) * perStep, machineIdleMilliseconds: (machine?.idle ?? 0) * perStep)
    }

    /// FLOPs of one training sample: forward, weight gradient, and the input gradients backward
    /// computes (not those of the first layer with parameters, `Sequential.computesInputGradient`),
    /// two FLOPs per multiply-add (the activations, pooling and loss are not counted).
    public static func trainingFlopsPerSample(_ model: Sequential) -> Int {
        let forward = model.fastPaths.map(\.forwardMultiplyAdds)
        let inputGradients = forward.indices.filter(model.computesInputGradient).map { forward[$0] }
        return 2 * (forward.reduce(0, +) * 2 + inputGradients.reduce(0, +))
    }

    /// Best of three 2048^3 SGEMMs with BLAS's own threads on all cores.
    static func sgemmPeak(threads: Int) -> (gflops: Double, threads: Int) {
        let n = 2048
        let a = FloatBuffer(count: n * n), b = FloatBuffer(count: n * n), c = FloatBuffer(count: n * n)
        for i in 0..<(n * n) { a[i] = Float(i % 7) * 0.1; b[i] = Float(i % 5) * 0.1 }
        Matmul.setBLASThreads(threads)
        defer { Matmul.useCallerThreadOnly() }
        var best = Double.infinity
        for _ in 0..<3 {
            let start = LayerTimes.now()
            Matmul.gemm(m: n, n: n, k: n, a.pointer, lda: n, b.pointer, ldb: n, c.pointer, ldc: n)
            best = min(best, Double(LayerTimes.now() - start) / 1e9)
        }
        return (2 * Double(n * n * n) / best / 1e9, threads)
    }

    /// GFLOP/s of the row-wise kernel and of BLAS's SGEMM (one thread) on one `m x k` by `k x n` product.
    static func productGflops(m: Int, n: Int, k: Int) -> (rowwise: Double, blas: Double) {
        let speeds = productGflops(m: m, n: n, k: k, [
            { a, b, c in Matmul.rowwise(m: m, n: n, k: k, a, lda: k, b, ldb: n, c, ldc: n, accumulate: false) },
            { a, b, c in Matmul.gemm(m: m, n: n, k: k, a, lda: k, b, ldb: n, c, ldc: n) },
        ])
        return (speeds[0], speeds[1])
    }

    /// The row-wise kernel on one thread at conv2's forward shape (121 x 288 by 288 x 64, 64 images).
    static func rowwiseGflops() -> Double {
        let (m, n, k) = (121 * 64, 64, 288)
        return productGflops(m: m, n: n, k: k, [
            { a, b, c in Matmul.rowwise(m: m, n: n, k: k, a, lda: k, b, ldb: n, c, ldc: n, accumulate: false) },
        ])[0]
    }

    /// GFLOP/s of each of `products` on the same `m x k` and `k x n` operands: the best of seven runs
    /// of about a millisecond each (or one product, when that takes longer).
    static func productGflops(m: Int, n: Int, k: Int,
                              _ products: [(UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void]) -> [Double] {
        let a = FloatBuffer(count: m * k), b = FloatBuffer(count: k * n), c = FloatBuffer(count: m * n)
        for i in 0..<a.count { a[i] = Float(i % 13) * 0.01 }
        for i in 0..<b.count { b[i] = Float(i % 11) * 0.01 }
        let flops = 2 * Double(m * n * k), repeats = max(1, Int(2e8 / flops))   // 2e8 FLOP: about 1 ms a run
        return products.map { product in
            var seconds = Double.infinity
            for _ in 0..<7 {
                let start = LayerTimes.now()
                for _ in 0..<repeats { product(a.pointer, b.pointer, c.pointer) }
                seconds = min(seconds, Double(LayerTimes.now() - start) / 1e9 / Double(repeats))
            }
            return flops / seconds / 1e9
        }
    }
}

extension Benchmark {
    /// How many synthetic images `bench` makes without a data set: MNIST's 60,000 where they take
    /// at most 64 MiB, fewer for larger inputs (the timed steps cycle through them; a 256x256x3
    /// input would otherwise take 11.8 GB), but always at least one global batch.
    public static func syntheticCount(batchSize: Int, sampleSize: Int) -> Int {
        max(batchSize, min(60_000, (64 << 20) / max(sampleSize, 1)))
    }
}

/// Synthetic images (random strokes on black) in the model's shape, for a benchmark without a data
/// set; each rank keeps only `shard`'s samples, as it would of a real training set (without that,
/// every rank of `mpirun` would compute the whole global batch).
public func syntheticImages(count: Int, height: Int, width: Int, channels: Int, classes: Int, shard: Shard = .whole) -> LabelledImages {
    var generator = SeededGenerator(seed: 7)
    let size = height * width * channels
    var pixels = [UInt8](repeating: 0, count: count * size)
    for i in 0..<(count * size) where generator.next() % 5 == 0 { pixels[i] = UInt8(truncatingIfNeeded: generator.next()) }
    let labels = (0..<count).map { _ in UInt8(generator.next() % UInt64(classes)) }
    let kept = Array(stride(from: shard.index, to: count, by: shard.count))
    return LabelledImages(pixels: kept.flatMap { pixels[($0 * size)..<(($0 + 1) * size)] }, labels: kept.map { labels[$0] },
                          height: height, width: width, channels: channels, shard: shard, totalCount: count)
}
