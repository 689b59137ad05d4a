import ConvNetConfig
import ConvNetCore
import Foundation
import SafeTensors
import TestSupport
import Training
import XCTest

/// A graph model (configs/residual-mnist.toml: a residual block with batch norm, a layer read twice,
/// a concatenation) end to end: the same bytes for any rank and thread count, an exact resume,
/// tensors named by the config's names, evaluate and predict, and its summary.
final class GraphTrainingTests: XCTestCase {
    private let config = SharedData.packageRoot.appendingPathComponent("configs/residual-mnist.toml").path

    func testResidualModelTrainsTheSameBytesOnOneToFourRanksAndTwoThreads() throws {
        let data = try makeSmallMNIST(self, trainCount: 2000, testCount: 100)
        var reference: Data?
        for (ranks, threads) in [(1, 1), (1, 2), (2, 1), (3, 1), (4, 1)] {
            let runDirectory = try makeTemporaryDirectory(self)
            let result = try runUnderMPI(ranks, ["train", "--config", config, "--data-dir", data, "--run-dir", runDirectory,
                                                 "--batch-size", "48", "--max-steps", "25", "--threads", String(threads), "--quiet"])
            XCTAssertEqual(result.status, 0, result.error)
            let bytes = try modelBytes(runDirectory)
            guard let reference else {
                reference = bytes
                let names = try SafeTensors.decode(bytes).names
                for name in ["stem.kernel", "residual.moving_variance", "conv2d_1.kernel", "dense_1.bias"] {
                    XCTAssertTrue(names.contains(name), "\(name) in \(names)")
                }
                continue
            }
            XCTAssertEqual(bytes, reference, "\(ranks) rank(s) x \(threads) thread(s) vs 1 x 1")
        }
    }

    func testResumeOfAGraphModelIsByteExact() throws {
        let data = try makeSmallMNIST(self, trainCount: 2000, testCount: 100)
        let common = ["train", "--threads", "2", "--config", config, "--data-dir", data, "--batch-size", "48", "--quiet"]
        let runs = try straightAndResumedModels(self, common, stopAt: 20, steps: 50)
        XCTAssertEqual(runs.resumed, runs.straight)
        let checkpoint = try CheckpointStore(runDirectory: runs.resumedRun, keep: 3).latest()
        let evaluated = try runCommand(productBinary, ["evaluate", "--checkpoint", checkpoint, "--data-dir", data])
        XCTAssertEqual(evaluated.status, 0, evaluated.error)
        XCTAssertTrue(evaluated.output.contains("test_accuracy"), evaluated.output)
        let predicted = try runCommand(productBinary, ["predict", "--checkpoint", checkpoint, "--test-index", "0",
                                                       "--data-dir", data])
        XCTAssertEqual(predicted.status, 0, predicted.error)
        XCTAssertTrue(predicted.output.contains("test image 0: label "), predicted.output)
    }

    func testSummaryShowsTheConnections() throws {
        let result = try runCommand(productBinary, ["summary", "--config", config])
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertTrue(result.output.contains("Model: \"functional\""), result.output)
        XCTAssertTrue(result.output.contains("Connected to"), result.output)
        XCTAssertTrue(result.output.contains("block (Add)"), result.output)
        XCTAssertTrue(result.output.contains("residual[0][0],"), result.output)
    }
}
