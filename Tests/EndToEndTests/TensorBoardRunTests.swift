import Foundation
import TensorBoard
import TestSupport
import XCTest

/// `train --tensorboard` on a small data set: which folders get which events, and `--overwrite`
/// removing them with the rest of the old run. (Tests/python/test_tensorboard.py reads a real run
/// with TensorBoard's own reader, across a resume.)
final class TensorBoardRunTests: XCTestCase {
    private func train(_ arguments: [String]) throws -> CommandResult {
        try runCommand(productBinary, ["train", "--threads", "1", "--quiet"] + arguments, timeout: 120)
    }

    /// (tag, step) of every summary value in a folder's events files, in file order.
    private func values(_ folder: String) throws -> [String] {
        try EventFile.paths(in: folder).flatMap { try EventFile.events(atPath: $0) }
            .flatMap { event in event.summary.value.map { "\($0.tag)@\(event.step)" } }
    }

    func testRunFolderHoldsTheKerasLayoutAndOverwriteRemovesIt() throws {
        // 640 training images: 10 steps per epoch; --max-steps 14 ends inside epoch 2.
        let data = try makeSmallMNIST(self, trainCount: 640, testCount: 50), run = try makeTemporaryDirectory(self)
        let result = try train(["--data-dir", data, "--run-dir", run, "--tensorboard", "--log-every", "5", "--max-steps", "14"])
        XCTAssertEqual(result.status, 0, result.error)
        let trainValues = try values(run + "/tensorboard/train")
        XCTAssertEqual(trainValues.filter { $0.hasPrefix("batch_loss@") }, ["batch_loss@5", "batch_loss@10"])
        XCTAssertEqual(trainValues.filter { $0.hasPrefix("epoch_") },
                       ["epoch_loss@0", "epoch_accuracy@0", "epoch_learning_rate@0", "epoch_loss@1", "epoch_accuracy@1", "epoch_learning_rate@1"])
        XCTAssertEqual(trainValues.filter { $0.hasPrefix("dense_2/") }, ["dense_2/kernel/histogram@0", "dense_2/bias/histogram@0",
                                                                    "dense_2/kernel/histogram@1", "dense_2/bias/histogram@1"])
        XCTAssertEqual(try values(run + "/tensorboard/test"), ["epoch_loss@0", "epoch_accuracy@0", "epoch_loss@1", "epoch_accuracy@1"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: run + "/tensorboard/validation"), "no split, no validation folder")
        XCTAssertTrue(try String(contentsOfFile: run + "/config.toml", encoding: .utf8).contains("[logging]\ntensorboard = true"))

        // A damaged events file stops a resume with one line saying what to do (its events cannot be
        // trimmed to the checkpoint).
        let file = try XCTUnwrap(EventFile.paths(in: run + "/tensorboard/train").first)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: file))
        let resumed = try train(["--data-dir", data, "--run-dir", run, "--resume"])
        XCTAssertNotEqual(resumed.status, 0)
        XCTAssertTrue(resumed.error.contains("\(file) is not a readable events file") && resumed.error.contains("move the file out"), resumed.error)
        XCTAssertEqual(resumed.error.split(separator: "\n").count, 1, "one line: \(resumed.error)")

        let again = try train(["--data-dir", data, "--run-dir", run, "--max-steps", "2", "--overwrite"])
        XCTAssertEqual(again.status, 0, again.error)
        XCTAssertFalse(FileManager.default.fileExists(atPath: run + "/tensorboard"), "--overwrite removes the old run's events")
    }

    /// A log folder that cannot be made (a file in its place) stops the run with one line naming the
    /// folder, the system's reason and what to do, never Foundation's "NSCocoaErrorDomain error 512".
    func testUnwritableLogFolderIsOneLineNamingIt() throws {
        let data = try makeSmallMNIST(self, trainCount: 64, testCount: 10), run = try makeTemporaryDirectory(self)
        try Data().write(to: URL(fileURLWithPath: run + "/tensorboard"))
        let result = try train(["--data-dir", data, "--run-dir", run, "--tensorboard", "--max-steps", "1"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.error.contains("cannot create \(run)/tensorboard/train: \(run)/tensorboard is a file, not a folder"), result.error)
        XCTAssertTrue(result.error.contains("or train without --tensorboard"), result.error)
        XCTAssertFalse(result.error.contains("NSCocoaErrorDomain"), result.error)
        XCTAssertEqual(result.error.split(separator: "\n").count, 1, "one line: \(result.error)")
    }
}
