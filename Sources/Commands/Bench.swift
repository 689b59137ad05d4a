import ArgumentParser
import Benchmarks
import Communication
import ConvNetConfig
import ConvNetCore
import ConvNetData
import Datasets
import Foundation
import Training

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure SGEMM peak, training throughput, a per-layer time split, evaluation and allreduce time.",
        discussion: """
            Examples:
              convnet-dist bench --data-dir data/mnist
              mpirun -np 2 convnet-dist bench --threads 1 --json
              convnet-dist bench --config configs/resnet20-cifar10.toml --steps 50
            Without a data folder (no --data-dir, no $CONVNET_DATA_DIR and no path in the config) it uses
            synthetic images shaped like the model's input.
            """)

    @OptionGroup var experiment: ExperimentOptions

    @OptionGroup var data: DataOptions

    @OptionGroup var compute: ThreadOptions

    @OptionGroup var memory: MemoryOptions

    @Option(parsing: .unconditional, help: "Training steps to time (after 20 warm-up steps).")
    var steps: Int = 300

    @Option(parsing: .unconditional, help: "Samples each thread runs through the layers at a time (training is the same bits for any value).")
    var chunkSize: Int = ModelRunner.defaultChunkSize

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func validate() throws {
        if steps < 1 { throw ValidationError("--steps must be at least 1") }
        if chunkSize < 1 { throw ValidationError("--chunk-size must be at least 1") }
        if chunkSize > ExperimentConfig.maximumBatchSize {
            throw ValidationError("--chunk-size must be at most \(ExperimentConfig.maximumBatchSize) (a chunk is part of a batch)")
        }
    }

    func run() throws {
        // The peak is OpenBLAS's SGEMM: with the kernel this CPU deserves (see BLASCore).
        if let core = BLASCore.betterCore { BLASCore.restart(with: core) }
        let communicator = makeCommunicator()
        runOnEveryRank(communicator) {
            let config = try experiment.resolve()
            let model = try Sequential(config.model)
            let shape = config.model.inputShape.dimensions
            let shard = Shard(index: communicator.rank, count: communicator.size)
            let threads = compute.perRank(communicator), budget = try memory.budget(communicator)
            func estimate(totalCount: Int, held: Int) -> MemoryEstimate {
                RunMemory.estimate(model: model, config: config, threads: threads, chunkSize: chunkSize,
                                   trainingCount: totalCount, ranks: communicator.size, held: held)
            }
            let images: LabelledImages, loaded = data.givenDirectory != nil || config.dataPath != nil
            if loaded {
                try RunMemory.checkBeforeLoading(model: model, config: config, threads: threads, chunkSize: chunkSize, budget: budget)
                images = try data.files(for: config, threads: threads).loadTraining(shard: shard, expectedShape: shape, classes: config.model.classes)
            } else {
                let count = Benchmark.syntheticCount(batchSize: config.batchSize, sampleSize: model.inputShape.count)
                // Made whole, then this rank's shard is copied out of it.
                try budget.check(estimate(totalCount: count, held: count + count / communicator.size), advice: RunMemory.advice)
                images = syntheticImages(count: count, height: shape[0], width: shape[1], channels: shape[2],
                                         classes: config.model.classes, shard: shard)
            }
            let estimated = estimate(totalCount: images.totalCount, held: images.count)
            try budget.check(estimated, advice: RunMemory.advice)
            var report = Benchmark.run(config: config, model: model, images: images, threads: threads,
                                       chunkSize: chunkSize, steps: steps, communicator: communicator)
            guard communicator.isRoot else { return }
            report.estimatedBytes = estimated.total
            let named = loaded ? nil : DatasetCatalog.named(config.dataset)?.trainingCount
            report.epochSamples = ValidationSplit.trainingCount(of: named ?? images.totalCount, fraction: config.validationSplit)
            let samplesPerRank = DataParallelStep.samplesPerRank(batchSize: config.batchSize, trainingCount: images.totalCount,
                                                                 ranks: communicator.size, accumulationSteps: config.accumulationSteps)
            let workspace = MemoryEstimate.workspaceParts(model: model, capacity: estimated.chunk,
                                                          shareCapacity: (samplesPerRank + threads - 1) / threads)
            report.estimatedWorkspaceBytes = estimated.activations
            report.estimatedLayerOutputBytes = Double(threads) * workspace.outputs
            report.estimatedSavedBytes = Double(threads) * workspace.saved
            report.estimatedGradientBytes = Double(threads) * workspace.gradients
            report.estimatedDataBytes = estimated.data
            report.estimatedWeightBytes = estimated.weights
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            } else {
                print(text(report))
            }
        }
    }

    private func text(_ r: BenchmarkReport) -> String {
        func f(_ x: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", x) }
        func grouped(_ n: Int) -> String {
            let digits = Array(String(n))
            return digits.indices.map { (($0 > 0 && (digits.count - $0) % 3 == 0) ? "," : "") + String(digits[$0]) }.joined()
        }
        var lines = [
            "BLAS: \(r.blas); row-wise kernel: \(r.rowwiseKernel)",
            "SGEMM peak (2048^3, \(r.sgemmPeakThreads) BLAS threads): \(f(r.sgemmPeakGflops)) GFLOP/s; "
                + "row-wise kernel on 1 thread: \(f(r.rowwiseKernelGflopsPerThread)) GFLOP/s",
            "Training: \(r.ranks) rank(s) x \(r.threads) thread(s), chunks of \(r.chunkSize), global batch \(r.batchSize)"
                + (r.accumulationSteps > 1 ? " (\(r.accumulationSteps) micro-batches of \(r.batchSize / r.accumulationSteps))" : "") + ": "
                + "\(f(r.trainingSamplesPerSecond, 0)) samples/s, \(f(r.stepMilliseconds, 2)) ms/step, "
                + "epoch of \(grouped(r.epochSamples)) ≈ \(f(Double(r.epochSamples) / r.trainingSamplesPerSecond, 2)) s",
            "  \(f(r.flopsPerTrainingSample / 1e6, 2)) MFLOP/sample -> \(f(r.trainingGflops)) GFLOP/s = "
                + "\(f(100 * r.fractionOfSgemmPeak)) % of SGEMM peak",
        ]
        if r.ranks > 1 {
            lines.append("  allreduce per step (median, rank 0): \(f(r.allreduceMilliseconds, 3)) ms")
            if r.statisticsMilliseconds > 0 {
                lines.append("  batch statistics sums per step (median, rank 0): \(f(r.statisticsMilliseconds, 3)) ms")
            }
            lines.append("  CPU per step: each rank (mean) \(f(r.rankUserMilliseconds)) ms user + \(f(r.rankSystemMilliseconds)) ms system; "
                         + "rank 0's machine, all cores: \(f(r.machineUserMilliseconds)) user, \(f(r.machineSystemMilliseconds)) system, "
                         + "\(f(r.machineInterruptMilliseconds)) interrupts, \(f(r.machineIdleMilliseconds)) idle")
            lines.append("  (the SGEMM peak was measured while the other ranks waited in MPI, which spins: run bench "
                         + "without mpirun for the machine's peak)")
        }
        // Layer names as long as the config's ("global_average_pooling2d_1") widen the name column.
        let nameWidth = max(18, (r.layers.map(\.layer.count).max() ?? 0) + 2)
        lines.append("Per layer, one worker thread, per step: ms forward / backward (a convolution's route), GFLOP/s and % of one core's SGEMM peak")
        for layer in r.layers {
            var line = "  " + layer.layer.padding(toLength: nameWidth, withPad: " ", startingAt: 0)
                + "\(f(layer.forwardMilliseconds, 3)) / \(f(layer.backwardMilliseconds, 3))"
                + (layer.route.map { " \($0)" } ?? "")
            if layer.forwardGflops > 0 {
                line = line.padding(toLength: max(nameWidth + 22, line.count + 2), withPad: " ", startingAt: 0)
                    + "forward \(f(layer.forwardGflops)) GFLOP/s (\(f(100 * layer.forwardFractionOfPeak, 0)) %), "
                    + "backward \(f(layer.backwardGflops)) GFLOP/s (\(f(100 * layer.backwardFractionOfPeak, 0)) %)"
            }
            lines.append(line)
        }
        let totalForward = r.layers.reduce(0) { $0 + $1.forwardMilliseconds }
        let totalBackward = r.layers.reduce(0) { $0 + $1.backwardMilliseconds }
        lines.append("  " + "total".padding(toLength: nameWidth, withPad: " ", startingAt: 0) + "\(f(totalForward, 3)) / \(f(totalBackward, 3))")
        // The two rests are computed for every model; only a staged pass times the parts before them.
        if r.stepParts.dropLast(2).contains(where: { $0.milliseconds > 0 }) {
            lines.append("Outside the layers, the same thread, per step: ms")
            for part in r.stepParts { lines.append("  " + part.part.padding(toLength: 46, withPad: " ", startingAt: 0) + f(part.milliseconds, 3)) }
        }
        let products = r.layers.filter { $0.product != nil && $0.productBLASGflops > 0 }
        if !products.isEmpty {
            let corePeak = r.sgemmPeakGflops / Double(max(r.sgemmPeakThreads, 1))
            lines.append("Forward products at one chunk's size, alone on one thread: GFLOP/s of the row-wise kernel and of "
                         + "BLAS's SGEMM (fraction of one core's SGEMM peak)")
            for layer in products {
                lines.append("  " + layer.layer.padding(toLength: nameWidth, withPad: " ", startingAt: 0)
                             + layer.product!.padding(toLength: 14, withPad: " ", startingAt: 0)
                             + "row-wise \(f(layer.productRowwiseGflops)) (\(f(layer.productRowwiseGflops / corePeak, 2))), "
                             + "BLAS \(f(layer.productBLASGflops)) (\(f(layer.productBLASGflops / corePeak, 2)))")
            }
        }
        lines.append(String(format: "Memory (rank 0): peak RSS %.1f MB (estimated %.1f MB for training)",
                            r.peakResidentBytes / 1_048_576, r.estimatedBytes / 1_048_576))
        lines.append(String(format: "  estimated: workspaces %.1f MB (%ld thread(s) x %ld samples: layer outputs %.1f, kept for backward %.1f, "
                            + "gradients %.1f, other %.1f), data %.1f MB, weights and optimizer %.1f MB",
                            r.estimatedWorkspaceBytes / 1_048_576, r.threads, r.chunkSize, r.estimatedLayerOutputBytes / 1_048_576,
                            r.estimatedSavedBytes / 1_048_576, r.estimatedGradientBytes / 1_048_576,
                            (r.estimatedWorkspaceBytes - r.estimatedLayerOutputBytes - r.estimatedSavedBytes - r.estimatedGradientBytes) / 1_048_576,
                            r.estimatedDataBytes / 1_048_576, r.estimatedWeightBytes / 1_048_576))
        lines.append("Evaluation of \(r.evaluationImages) images: \(f(r.evaluationSeconds, 3)) s = \(f(r.evaluationGflops)) GFLOP/s = "
                     + "\(f(100 * r.evaluationFractionOfPeak)) % of SGEMM peak")
        return lines.joined(separator: "\n")
    }
}
