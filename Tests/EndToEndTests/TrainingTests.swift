import Communication
import ConvNetConfig
import ConvNetCore
import Foundation
import TestSupport
import Training
import XCTest

/// Training on the real MNIST: reproducibility, and an accuracy-gated smoke run of the CLI.
final class TrainingTests: XCTestCase {
    private func train(steps: Int, threads: Int, seed: UInt64) throws -> [Float] {
        var config = ExperimentConfig.reference
        config.seed = seed
        let options = TrainingOptions(config: config, dataDirectory: try SharedData.mnistDirectory(),
                                      runDirectory: try makeTemporaryDirectory(self), threads: threads, maxSteps: steps)
        let trainer = try Trainer(options: options, progress: .silent)
        try trainer.run()
        return trainer.parameters.array
    }

    /// Same seed and thread count: bit-identical weights, because every reduction has a fixed order.
    func testSameSeedAndThreadsGiveBitIdenticalWeights() throws {
        let first = try train(steps: 40, threads: 2, seed: 11)
        let second = try train(steps: 40, threads: 2, seed: 11)
        XCTAssertEqual(first.map(\.bitPattern), second.map(\.bitPattern))
        let otherSeed = try train(steps: 40, threads: 2, seed: 12)
        XCTAssertNotEqual(first, otherSeed)
    }

    /// Stronger still: the thread count does not change the weights either (see `Layer.backward`).
    func testThreadCountDoesNotChangeTheWeights() throws {
        let one = try train(steps: 30, threads: 1, seed: 5)
        let three = try train(steps: 30, threads: 3, seed: 5)
        XCTAssertEqual(one.map(\.bitPattern), three.map(\.bitPattern))
    }

    /// The CLI trains 400 steps (6.8% of the reference 5 epochs) and must clear 95% test accuracy;
    /// it typically reaches about 96.5%.
    func testSmokeRunReachesAccuracyFloor() throws {
        let runDirectory = try makeTemporaryDirectory(self) + "/run"
        let result = try runCommand(productBinary, ["train", "--data-dir", try SharedData.mnistDirectory(),
                                                    "--run-dir", runDirectory, "--max-steps", "400"])
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertTrue(result.output.contains("Total params: 93,322"), result.output)
        let csv = try String(contentsOfFile: runDirectory + "/metrics.csv", encoding: .utf8)
        let rows = csv.split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
        XCTAssertEqual(rows.count, 2, csv)
        let header = rows[0], row = rows[1]
        for column in ["epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "epoch_seconds", "samples_per_second"] {
            XCTAssertTrue(header.contains(column), "metrics.csv lacks \(column)")
        }
        let accuracy = try XCTUnwrap(Double(row[header.firstIndex(of: "test_accuracy")!]))
        print("smoke run: 400 steps, test accuracy \(accuracy)")
        XCTAssertGreaterThanOrEqual(accuracy, 0.95)
        XCTAssertEqual(row[header.firstIndex(of: "steps")!], "400")
        XCTAssertTrue(FileManager.default.fileExists(atPath: runDirectory + "/config.toml"))
    }
}

/// `CONVNET_KERNELS` switches the fast kernels off (or to AVX2) for a whole run: the same bytes.
final class KernelPathTrainingTests: XCTestCase {
    func testEveryKernelPathTrainsTheSameBytes() throws {
        let data = try makeSmallMNIST(self, trainCount: 256, testCount: 32)
        func train(_ kernels: String?) throws -> Data {
            let run = try makeTemporaryDirectory(self)
            var environment = ProcessInfo.processInfo.environment
            environment["CONVNET_KERNELS"] = kernels
            let result = try runCommand(productBinary, ["train", "--data-dir", data, "--run-dir", run, "--epochs", "1",
                                                        "--threads", "2", "--quiet"], environment: environment, timeout: 600)
            XCTAssertEqual(result.status, 0, "\(kernels ?? "best"): \(result.error)")
            return try Data(contentsOf: URL(fileURLWithPath: run + "/model.safetensors"))
        }
        let best = try train(nil)
        for path in ["portable", "avx2", "avx512", "neon"] where Matmul.selectKernels(path) {
            XCTAssertEqual(try train(path), best, path)
        }
        Matmul.selectKernels("best")
        let refused = try runCommand(productBinary, ["summary"], environment: ["CONVNET_KERNELS": "sse9"])
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.error.hasPrefix("convnet-dist: error: CONVNET_KERNELS=sse9: expected portable, avx2, avx512, neon or best"), refused.error)
    }
}
