import Foundation
import TestSupport
import XCTest

/// A model with random flips, random translations, a random crop and dropout (all drawn by the
/// dropout rule, from the sample's index) writes the same model.safetensors, byte for byte, on 1, 2,
/// 3 and 4 ranks and on 2 threads, and when stopped and resumed.
final class AugmentationTrainingTests: XCTestCase {
    private static let config = """
        [model]
        input_shape = [28, 28, 1]
        classes = 10
        layers = [
          { type = "rescaling", scale = 2.0, offset = -1.0 },
          { type = "random_flip", mode = "horizontal" },
          { type = "random_translation", height_factor = 0.1, width_factor = 0.1, fill_mode = "constant", fill_value = -1.0 },
          { type = "zero_padding2d", padding = 2 },
          { type = "random_crop", height = 28, width = 28 },
          { type = "conv2d", filters = 4, kernel_size = 3, activation = "relu" },
          { type = "maxpool2d", pool_size = 2 },
          { type = "dropout", rate = 0.25 },
          { type = "flatten" },
          { type = "dense", units = 10, activation = "softmax" },
        ]

        [training]
        epochs = 1
        batch_size = 32
        seed = 3
        shuffle = true
        """

    func testAugmentedTrainingIsTheSameBytesForAnyRanksThreadsAndResume() throws {
        let data = try makeSmallMNIST(self, trainCount: 1600, testCount: 100)
        let configPath = try makeTemporaryDirectory(self) + "/augment.toml"
        try Self.config.write(toFile: configPath, atomically: true, encoding: .utf8)
        let common = ["train", "--config", configPath, "--data-dir", data, "--max-steps", "30", "--quiet"]
        func bytes(_ runDirectory: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: runDirectory + "/model.safetensors")) }

        var reference: Data?
        for (ranks, threads) in [(1, 1), (1, 2), (2, 1), (3, 1), (4, 1)] {
            let runDirectory = try makeTemporaryDirectory(self)
            let result = try runUnderMPI(ranks, common + ["--run-dir", runDirectory, "--threads", String(threads)])
            XCTAssertEqual(result.status, 0, result.error)
            guard let reference else { reference = try bytes(runDirectory); continue }
            XCTAssertEqual(try bytes(runDirectory), reference, "\(ranks) rank(s) x \(threads) thread(s) vs 1 x 1")
        }

        let split = try makeTemporaryDirectory(self)
        let stopped = try runCommand(productBinary, ["train", "--config", configPath, "--data-dir", data, "--max-steps", "12", "--quiet",
                                                     "--run-dir", split, "--threads", "2"])
        XCTAssertEqual(stopped.status, 0, stopped.error)
        let resumed = try runCommand(productBinary, common + ["--run-dir", split, "--resume", "--threads", "2"])
        XCTAssertEqual(resumed.status, 0, resumed.error)
        XCTAssertEqual(try bytes(split), reference, "stopped at step 12 and resumed to 30")
    }

    /// The same run without the random layers ends elsewhere: the augmentation is live in training.
    func testRandomLayersChangeTraining() throws {
        let data = try makeSmallMNIST(self, trainCount: 640, testCount: 100)
        let directory = try makeTemporaryDirectory(self)
        var results: [Data] = []
        for (index, text) in [Self.config, Self.config.replacingOccurrences(of: "mode = \"horizontal\"", with: "mode = \"vertical\"")].enumerated() {
            let configPath = directory + "/c\(index).toml", runDirectory = directory + "/run\(index)"
            try text.write(toFile: configPath, atomically: true, encoding: .utf8)
            let result = try runCommand(productBinary, ["train", "--config", configPath, "--data-dir", data, "--max-steps", "5",
                                                        "--quiet", "--run-dir", runDirectory, "--threads", "1"])
            XCTAssertEqual(result.status, 0, result.error)
            results.append(try Data(contentsOf: URL(fileURLWithPath: runDirectory + "/model.safetensors")))
        }
        XCTAssertNotEqual(results[0], results[1], "horizontal and vertical flips train different weights")
    }
}
