import Foundation
import TestSupport
import XCTest

/// `convolution = "winograd"` keeps the determinism contract: a small residual model writes the
/// same model.safetensors, byte for byte, on 1 to 4 ranks of 1 or 2 threads (Winograd forward, input
/// and kernel gradients all run), and when stopped mid-epoch and resumed; and its weights differ from
/// the direct path's (Winograd really ran).
final class WinogradTrainingTests: XCTestCase {
    private static func config(_ convolution: String) -> String {
        """
        [model]
        input_shape = [28, 28, 1]
        classes = 10
        \(convolution)
        layers = [
          { type = "random_flip", mode = "horizontal" },
          { type = "conv2d", name = "stem", filters = 8, kernel_size = 3, strides = 2, padding = "same", activation = "relu" },
          { type = "conv2d", filters = 8, kernel_size = 3, padding = "same", use_bias = false },
          { type = "batchnorm" },
          { type = "activation", activation = "relu" },
          { type = "conv2d", filters = 8, kernel_size = 3, padding = "same", use_bias = false },
          { type = "batchnorm", name = "residual" },
          { type = "add", name = "block", inputs = ["residual", "stem"] },
          { type = "activation", activation = "relu" },
          { type = "conv2d", filters = 6, kernel_size = 3, activation = "relu" },
          { type = "global_avgpool2d" },
          { type = "dense", units = 10, activation = "softmax" },
        ]

        [training]
        epochs = 2
        batch_size = 32
        seed = 5

        [optimizer]
        name = "sgd"
        learning_rate = 0.05
        momentum = 0.9
        """
    }

    func testWinogradModelIsTheSameBytesForAnyRanksThreadsAndResume() throws {
        let data = try makeSmallMNIST(self, trainCount: 1600, testCount: 100)   // 50 steps an epoch
        let folder = try makeTemporaryDirectory(self)
        for (name, key) in [("winograd", "convolution = \"winograd\""), ("direct", "")] {
            try Self.config(key).write(toFile: "\(folder)/\(name).toml", atomically: true, encoding: .utf8)
        }
        func common(_ name: String) -> [String] { ["train", "--config", "\(folder)/\(name).toml", "--data-dir", data, "--quiet"] }
        func bytes(_ runDirectory: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: runDirectory + "/model.safetensors")) }

        var reference: Data?
        for (ranks, threads) in [(1, 1), (2, 1), (1, 2), (3, 1), (4, 1), (3, 2)] {
            let runDirectory = try makeTemporaryDirectory(self)
            let result = try runUnderMPI(ranks, common("winograd") + ["--max-steps", "60", "--run-dir", runDirectory, "--threads", String(threads)])
            XCTAssertEqual(result.status, 0, result.error)
            guard let reference else { reference = try bytes(runDirectory); continue }
            XCTAssertEqual(try bytes(runDirectory), reference, "\(ranks) rank(s) x \(threads) thread(s) vs 1 x 1")
        }

        let split = try makeTemporaryDirectory(self)
        let stopped = try runCommand(productBinary, common("winograd") + ["--max-steps", "25", "--run-dir", split, "--threads", "2"])
        XCTAssertEqual(stopped.status, 0, stopped.error)
        let resumed = try runUnderMPI(2, common("winograd") + ["--max-steps", "60", "--run-dir", split, "--resume", "--threads", "1"])
        XCTAssertEqual(resumed.status, 0, resumed.error)
        XCTAssertEqual(try bytes(split), reference, "stopped at step 25 on 1 x 2, resumed to step 60 on 2 x 1")

        let direct = try makeTemporaryDirectory(self)
        let result = try runCommand(productBinary, common("direct") + ["--max-steps", "60", "--run-dir", direct])
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertNotEqual(try bytes(direct), reference, "the direct path's weights")
    }
}
