import Communication
import ConvNetConfig
import ConvNetCore
import ConvNetData
import Foundation
import TestSupport
import Training
import XCTest

/// `accumulation_steps`: a step that sums K micro-batches of `batch_size / K` samples writes the same
/// bytes as one pass over the batch, on any rank count, for a model without batch normalisation
/// (dropout included: its masks follow the optimizer step and the sample, not the micro-batch).
final class AccumulationTests: XCTestCase {
    private static let config = """
        [model]
        input_shape = [28, 28, 1]
        classes = 10
        layers = [
          { type = "conv2d", filters = 4, kernel_size = 3, activation = "relu" },
          { type = "maxpool2d", pool_size = 2 },
          { type = "dropout", rate = 0.25 },
          { type = "flatten" },
          { type = "dense", units = 16, activation = "relu" },
          { type = "dropout", rate = 0.5 },
          { type = "dense", units = 10, activation = "softmax" },
        ]

        [training]
        epochs = 2
        batch_size = 256
        seed = 7
        shuffle = true
        """

    private func writeConfig(_ text: String = AccumulationTests.config) throws -> String {
        let path = try makeTemporaryDirectory(self) + "/accumulation.toml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private func bytes(_ runDirectory: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: runDirectory + "/model.safetensors"))
    }

    /// steps.csv without the learning rate, and metrics.csv without its timings.
    private func figures(_ runDirectory: String) throws -> (steps: [String], metrics: [String]) {
        let steps = try String(contentsOfFile: runDirectory + "/steps.csv", encoding: .utf8).split(separator: "\n")
        let metrics = try String(contentsOfFile: runDirectory + "/metrics.csv", encoding: .utf8).split(separator: "\n")
        return (steps.map { String($0) }, metrics.map { $0.split(separator: ",", omittingEmptySubsequences: false).prefix(6).joined(separator: ",") })
    }

    /// Batch 256 with K = 1, 2, 4 on 1, 2 and 4 ranks: 40 steps (two epochs of 5,000 samples, each
    /// ending in a short batch of 136, whose last micro-batch is shorter still) write the same
    /// model.safetensors, and the same losses and accuracies in steps.csv and metrics.csv.
    func testAccumulationWritesTheSameBytesForAnyStepsAndRanks() throws {
        let data = try makeSmallMNIST(self, trainCount: 5000, testCount: 200)
        let config = try writeConfig()
        var reference: (bytes: Data, figures: (steps: [String], metrics: [String]))?
        for k in [1, 2, 4] {
            for ranks in [1, 2, 4] {
                let runDirectory = try makeTemporaryDirectory(self)
                let result = try runUnderMPI(ranks, ["train", "--config", config, "--data-dir", data, "--run-dir", runDirectory,
                                                     "--accumulation-steps", String(k), "--max-steps", "40", "--log-every", "1",
                                                     "--threads", ranks == 1 ? "2" : "1", "--quiet"])
                XCTAssertEqual(result.status, 0, result.error)
                let run = (bytes: try bytes(runDirectory), figures: try figures(runDirectory))
                XCTAssertEqual(run.figures.steps.count, 41, "a header and 40 steps")
                guard let reference else {
                    reference = run
                    continue
                }
                XCTAssertEqual(run.bytes, reference.bytes, "K = \(k) on \(ranks) rank(s) vs K = 1 on 1 rank")
                XCTAssertEqual(run.figures.steps, reference.figures.steps, "steps.csv, K = \(k) on \(ranks) rank(s)")
                XCTAssertEqual(run.figures.metrics, reference.figures.metrics, "metrics.csv, K = \(k) on \(ranks) rank(s)")
                if k > 1 {
                    let written = try String(contentsOfFile: runDirectory + "/config.toml", encoding: .utf8)
                    XCTAssertTrue(written.contains("accumulation_steps = \(k)"), written)
                }
            }
        }
    }

    /// Stopped at step 12 with K = 1 and resumed (mid-epoch) with K = 4 on 2 ranks: the same bytes as
    /// the uninterrupted run, and the change is reported.
    func testResumeMayChangeTheStepsWithoutBatchNormalisation() throws {
        let data = try makeSmallMNIST(self, trainCount: 5000, testCount: 200)
        let config = try writeConfig()
        let common = ["train", "--config", config, "--data-dir", data, "--threads", "1"]
        let whole = try makeTemporaryDirectory(self), split = try makeTemporaryDirectory(self)
        let uninterrupted = try runCommand(productBinary, common + ["--run-dir", whole, "--max-steps", "30", "--quiet"])
        XCTAssertEqual(uninterrupted.status, 0, uninterrupted.error)
        let stopped = try runCommand(productBinary, common + ["--run-dir", split, "--max-steps", "12", "--quiet"])
        XCTAssertEqual(stopped.status, 0, stopped.error)
        let resumed = try runUnderMPI(2, common + ["--run-dir", split, "--max-steps", "30", "--resume", "--accumulation-steps", "4"])
        XCTAssertEqual(resumed.status, 0, resumed.error)
        XCTAssertTrue(resumed.output.contains("accumulation steps 1 -> 4 (the same weights"), resumed.output)
        XCTAssertEqual(try bytes(split), try bytes(whole), "K = 1 for 12 steps then K = 4 on 2 ranks vs K = 1 throughout")
    }

    /// With batch normalisation the statistics are the micro-batch's: K = 2 trains other weights than
    /// K = 1 (the accumulation is real), the same on 1 and 2 ranks (micro-batches are slices of the
    /// global batch), and a mid-epoch change of K is refused in one line.
    func testBatchNormUsesMicroBatchStatisticsAndRefusesAMidEpochChange() throws {
        let data = try makeSmallMNIST(self, trainCount: 1000, testCount: 100)
        let config = try writeConfig(Self.config.replacingOccurrences(
            of: "{ type = \"maxpool2d\", pool_size = 2 },", with: "{ type = \"batchnorm\" },\n  { type = \"maxpool2d\", pool_size = 2 },"))
        let common = ["train", "--config", config, "--data-dir", data, "--threads", "1", "--batch-size", "64", "--max-steps", "6", "--quiet"]
        var runs: [String: Data] = [:]
        for (k, ranks) in [(1, 1), (2, 1), (2, 2)] {
            let runDirectory = try makeTemporaryDirectory(self)
            let result = try runUnderMPI(ranks, common + ["--run-dir", runDirectory, "--accumulation-steps", String(k)])
            XCTAssertEqual(result.status, 0, result.error)
            runs["\(k)x\(ranks)"] = try bytes(runDirectory)
        }
        XCTAssertNotEqual(runs["2x1"], runs["1x1"], "batch statistics of micro-batches of 32, not of the batch of 64")
        XCTAssertEqual(runs["2x2"], runs["2x1"], "K = 2: the same bytes on 2 ranks as on 1")

        let stopped = try makeTemporaryDirectory(self)
        XCTAssertEqual(try runCommand(productBinary, common + ["--run-dir", stopped]).status, 0)
        let refused = try runCommand(productBinary, ["train", "--resume", "--run-dir", stopped, "--data-dir", data,
                                                     "--max-steps", "8", "--accumulation-steps", "2"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.error.contains("accumulation steps 1 -> 2: the model's batch normalisation would use other statistics"),
                      refused.error)
        XCTAssertEqual(refused.error.split(separator: "\n").count, 1, refused.error)
    }

    /// Bad values of the key and the flag: one line naming them, before any data is read.
    func testBadAccumulationStepsAreRefusedInOneLine() throws {
        let cases: [(arguments: [String], config: String?, message: String)] = [
            (["--accumulation-steps", "0"], nil, "--accumulation-steps must be at least 1"),
            (["--batch-size", "100", "--accumulation-steps", "3"], nil,
             "training.batch_size 100 is not a multiple of training.accumulation_steps 3 (--batch-size, --accumulation-steps)"),
            (["--batch-size", "4", "--accumulation-steps", "8"], nil,
             "training.accumulation_steps 8 is more than training.batch_size 4 (--accumulation-steps, --batch-size)"),
            ([], Self.config + "\naccumulation_steps = 0\n", "training.accumulation_steps must be at least 1, got 0"),
            ([], Self.config + "\naccumulation_steps = 3\n", "training.batch_size 256 is not a multiple of training.accumulation_steps 3"),
        ]
        for item in cases {
            let config = try item.config.map { try writeConfig($0) }
            let result = try runCommand(productBinary, ["train", "--data-dir", "/nonexistent", "--run-dir", try makeTemporaryDirectory(self) + "/run"]
                                        + (config.map { ["--config", $0] } ?? []) + item.arguments)
            XCTAssertNotEqual(result.status, 0, "\(item.arguments)")
            XCTAssertTrue(result.error.contains(item.message), "\(item.arguments): \(result.error)")
        }
        for k in ["2", "4"] {   // bench takes the flag too
            let result = try runCommand(productBinary, ["bench", "--batch-size", "6", "--accumulation-steps", k, "--steps", "1"])
            XCTAssertEqual(result.status == 0, k == "2", result.output + result.error)
        }
    }

    /// The memory estimate counts a micro-batch: a quarter of the activations of a batch-norm model
    /// (which holds a rank's whole share) with K = 4, and the same share of the samples per pass.
    func testMemoryEstimateIsSizedByTheMicroBatch() throws {
        XCTAssertEqual(DataParallelStep.samplesPerRank(batchSize: 1024, trainingCount: 60_000, ranks: 2, accumulationSteps: 4), 128)
        XCTAssertEqual(DataParallelStep.samplesPerRank(batchSize: 1024, trainingCount: 300, ranks: 1, accumulationSteps: 4), 256)
        XCTAssertEqual(DataParallelStep.samplesPerRank(batchSize: 1024, trainingCount: 100, ranks: 1, accumulationSteps: 4), 100)
        var config = try ExperimentConfig.load(path: SharedData.packageRoot.appendingPathComponent("configs/fashion-mnist-bn.toml").path)
        config.batchSize = 1024
        let model = try Sequential(config.model)
        var estimates: [MemoryEstimate] = []
        for k in [1, 4] {
            config.accumulationSteps = k
            estimates.append(RunMemory.estimate(model: model, config: config, threads: 1, trainingCount: 60_000, ranks: 1, held: 60_000))
        }
        XCTAssertEqual(estimates[1].chunk * 4, estimates[0].chunk)
        XCTAssertLessThan(estimates[1].activations * 3.5, estimates[0].activations)
        XCTAssertEqual(estimates[1].weights - estimates[0].weights, 8 * Double(model.parameterCount), "a micro-batch's Double sums")
    }

    /// One `DataParallelStep`, in process: K = 4 gives the K = 1 parameters' bits after a few steps,
    /// with a runner sized for the micro-batch (a quarter of the batch).
    func testStepSumsMicroBatchesToTheSameBits() throws {
        var generator = SeededGenerator(seed: 11)
        let count = 300
        let pixels = (0..<(count * 64)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        let labels = (0..<count).map { _ in UInt8(generator.next() % 4) }
        let images = LabelledImages(pixels: pixels, labels: labels, height: 8, width: 8, channels: 1)
        var results: [[UInt32]] = []
        var losses: [[Double]] = []
        for k in [1, 4] {
            var config = try ExperimentConfig.parse(toml: """
                [model]
                input_shape = [8, 8, 1]
                classes = 4
                layers = [
                  { type = "conv2d", filters = 3, kernel_size = 3, activation = "relu" },
                  { type = "flatten" },
                  { type = "dropout", rate = 0.3 },
                  { type = "dense", units = 4, activation = "softmax" },
                ]
                """)
            config.batchSize = 64
            config.accumulationSteps = k
            let communicator = SingleProcessCommunicator()
            let step = DataParallelStep(model: try Sequential(config.model), config: config, threads: 2, communicator: communicator)
            XCTAssertEqual(step.runner.maxBatch, 64 / k, "the runner holds a micro-batch")
            Initialization.glorotUniform(step.model, seed: 3, into: step.parameters)
            let share = EvenShare(data: images, communicator: communicator, maxBatch: step.microBatchSize)
            let schedule = EpochSchedule(totalCount: count, batchSize: 64, seed: 5, epoch: 1, shuffle: true)
            var stepLosses: [Double] = []
            for s in 0..<schedule.steps {   // the last batch (44 samples) is short: micro-batches 16, 16, 12
                let result = try step.run(globalBatch: schedule.globalBatch(step: s), share: share, globalStep: s, where: "step \(s)")
                stepLosses.append(result.statistics.meanLoss)
            }
            results.append((0..<step.parameters.count).map { step.parameters[$0].bitPattern })
            losses.append(stepLosses)
        }
        XCTAssertEqual(results[0], results[1], "K = 4 vs K = 1: parameters after 5 steps")
        for (a, b) in zip(losses[0], losses[1]) { XCTAssertEqual(a, b, accuracy: 1e-12 * max(1, abs(a))) }
    }
}
