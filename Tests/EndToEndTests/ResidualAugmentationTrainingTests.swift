import Foundation
import TestSupport
import XCTest

/// Issue 24's whole promise at once: a residual graph (a shortcut added to a batch-normalised
/// block) behind random flips and translations, with dropout, writes the same model.safetensors,
/// byte for byte, on 1, 2, 3 and 4 ranks and on 2 threads after 60 steps, and when stopped
/// mid-epoch at step 25 and resumed to step 60.
final class ResidualAugmentationTrainingTests: XCTestCase {
    private static let config = """
        [model]
        input_shape = [28, 28, 1]
        classes = 10
        layers = [
          { type = "random_flip", mode = "horizontal" },
          { type = "random_translation", height_factor = 0.1, width_factor = 0.1 },
          { type = "conv2d", name = "stem", filters = 4, kernel_size = 3, strides = 2, padding = "same", activation = "relu" },
          { type = "conv2d", filters = 4, kernel_size = 3, padding = "same", use_bias = false },
          { type = "batchnorm" },
          { type = "activation", activation = "relu" },
          { type = "conv2d", filters = 4, kernel_size = 3, padding = "same", use_bias = false },
          { type = "batchnorm", name = "residual" },
          { type = "add", name = "block", inputs = ["residual", "stem"] },
          { type = "activation", activation = "relu" },
          { type = "global_avgpool2d" },
          { type = "dropout", rate = 0.2 },
          { type = "dense", units = 10, activation = "softmax" },
        ]

        [training]
        epochs = 2
        batch_size = 32
        seed = 5
        shuffle = true

        [optimizer]
        name = "sgd"
        learning_rate = 0.05
        momentum = 0.9
        weight_decay = 0.0005
        """

    func testResidualAugmentedModelIsTheSameBytesForAnyRanksThreadsAndResume() throws {
        let data = try makeSmallMNIST(self, trainCount: 1600, testCount: 100)   // 50 steps an epoch
        let configPath = try makeTemporaryDirectory(self) + "/residual-augment.toml"
        try Self.config.write(toFile: configPath, atomically: true, encoding: .utf8)
        let common = ["train", "--config", configPath, "--data-dir", data, "--quiet"]
        func bytes(_ runDirectory: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: runDirectory + "/model.safetensors")) }

        var reference: Data?
        for (ranks, threads) in [(1, 1), (1, 2), (2, 1), (3, 1), (4, 1)] {
            let runDirectory = try makeTemporaryDirectory(self)
            let result = try runUnderMPI(ranks, common + ["--max-steps", "60", "--run-dir", runDirectory, "--threads", String(threads)])
            XCTAssertEqual(result.status, 0, result.error)
            guard let reference else { reference = try bytes(runDirectory); continue }
            XCTAssertEqual(try bytes(runDirectory), reference, "\(ranks) rank(s) x \(threads) thread(s) vs 1 x 1")
        }

        let split = try makeTemporaryDirectory(self)
        let stopped = try runCommand(productBinary, common + ["--max-steps", "25", "--run-dir", split, "--threads", "2"])
        XCTAssertEqual(stopped.status, 0, stopped.error)
        let resumed = try runUnderMPI(2, common + ["--max-steps", "60", "--run-dir", split, "--resume", "--threads", "1"])
        XCTAssertEqual(resumed.status, 0, resumed.error)
        XCTAssertEqual(try bytes(split), reference, "stopped at step 25 on 1 x 2, resumed to step 60 on 2 x 1")
    }
}
