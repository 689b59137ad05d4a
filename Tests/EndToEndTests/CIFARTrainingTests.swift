import ConvNetConfig
import ConvNetData
import Foundation
import Images
import SafeTensors
import TestSupport
import Training
import XCTest

/// A made CIFAR-10 folder trains (AdamW with a schedule, resumed exactly from its checkpoint; 2 ranks
/// train the same bytes as 1), and `convert`'s PNG copy of it trains the same model.safetensors bytes.
final class CIFARTrainingTests: XCTestCase {
    private let config = """
        [data]
        dataset = "cifar10"

        [model]
        input_shape = [32, 32, 3]
        classes = 10

        [[model.layers]]
        type = "conv2d"
        filters = 4
        kernel_size = 3
        strides = 2
        activation = "relu"

        [[model.layers]]
        type = "maxpool2d"
        pool_size = 2

        [[model.layers]]
        type = "flatten"

        [[model.layers]]
        type = "dense"
        units = 10
        activation = "softmax"

        [optimizer]
        name = "adamw"
        learning_rate = 0.01
        weight_decay = 0.05

        [optimizer.schedule]
        name = "piecewise_constant"
        boundaries = [3]
        values = [0.01, 0.002]

        [training]
        epochs = 2
        batch_size = 10
        """

    private func weights(_ run: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: run + "/model.safetensors")) }

    private func train(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try runCommand(productBinary, ["train", "--quiet", "--threads", "1"] + arguments, timeout: 300)
        XCTAssertEqual(result.status, 0, result.error, file: file, line: line)
    }

    func testAMadeSetTrainsAndItsPNGCopyTrainsTheSameBytes() throws {
        let data = try makeTemporaryDirectory(self), work = try makeTemporaryDirectory(self)
        let training = CIFARWriter.pictures(count: 46), test = CIFARWriter.pictures(count: 12, seed: 3)
        try CIFARWriter.writeSet(directory: data, training: training, test: test, perFile: [10, 9, 10, 8, 9])
        let configPath = work + "/cifar.toml"
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)

        let run = work + "/run"
        try train(["--config", configPath, "--data-dir", data, "--run-dir", run])
        XCTAssertEqual(try String(contentsOfFile: run + "/class_names.txt", encoding: .utf8), CIFARWriter.classNames.joined(separator: "\n") + "\n")
        let checkpoint = try Checkpoint.load(path: try CheckpointStore(runDirectory: run, keep: 3).latest())
        XCTAssertEqual(checkpoint.config.optimizer.name, "adamw")
        XCTAssertEqual(Set(checkpoint.optimizerState.keys), ["m", "v"], "AdamW's state is checkpointed as Adam's")

        // Stopped after 3 steps and resumed: the same bytes (AdamW's state and the decay at the scheduled rate).
        let split = work + "/split"
        try train(["--config", configPath, "--data-dir", data, "--run-dir", split, "--max-steps", "3"])
        try train(["--config", configPath, "--data-dir", data, "--run-dir", split, "--resume"])
        XCTAssertEqual(try weights(split), try weights(run), "resumed")

        // Two ranks, each reading only its shard of the five files: the same bytes.
        let two = work + "/two"
        let mpi = try runUnderMPI(2, ["train", "--quiet", "--threads", "1", "--config", configPath, "--data-dir", data, "--run-dir", two])
        XCTAssertEqual(mpi.status, 0, mpi.error)
        XCTAssertEqual(try weights(two), try weights(run), "2 ranks")

        // convert writes RGB PNGs in class folders named by batches.meta.txt; they train the same bytes.
        let png = work + "/png"
        let conversion = try runCommand(productBinary, ["convert", "--config", configPath, "--data-dir", data, "--output", png, "--threads", "2"])
        XCTAssertEqual(conversion.status, 0, conversion.error)
        let first = try PictureFile.read(path: png + "/train/airplane/00.png", channels: 3)
        XCTAssertEqual([first.height, first.width, first.channels], [32, 32, 3])
        XCTAssertEqual(first.pixels, Array(training.pixels[0..<3072]), "sample 0 (label 0), colour kept")
        let fromPNG = work + "/from-png"
        try train(["--config", configPath, "--data-dir", png, "--data-format", "folder", "--run-dir", fromPNG])
        XCTAssertEqual(try weights(fromPNG), try weights(run), "the PNG folder trains the same bytes as the CIFAR files")
    }
}
