import Foundation
import TestSupport
import Training
import XCTest

/// A run folder holds one run: a new run never silently overwrites another, two processes never
/// share a folder, and a resume either continues the same epoch exactly or says why it cannot.
final class RunFolderTests: XCTestCase {
    /// 640 training images: 10 steps per epoch.
    private func data() throws -> String { try makeSmallMNIST(self, trainCount: 640, testCount: 50) }

    private func train(_ arguments: [String]) throws -> CommandResult {
        try runCommand(productBinary, ["train", "--threads", "1", "--quiet"] + arguments, timeout: 120)
    }

    func testExistingRunIsRefusedUnlessResumedOrOverwritten() throws {
        let data = try data(), run = try makeTemporaryDirectory(self)
        XCTAssertEqual(try train(["--data-dir", data, "--run-dir", run, "--max-steps", "3"]).status, 0)
        let again = try train(["--data-dir", data, "--run-dir", run, "--max-steps", "3"])
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.error.contains("already holds a run") && again.error.contains("--overwrite"), again.error)
        XCTAssertEqual(again.error.split(separator: "\n").count, 1, "one line: \(again.error)")
        // A file of the user's own in the folder survives --overwrite; the old run's checkpoints do not.
        try "mine".write(toFile: run + "/notes.txt", atomically: true, encoding: .utf8)
        XCTAssertEqual(try train(["--data-dir", data, "--run-dir", run, "--max-steps", "2", "--overwrite"]).status, 0)
        XCTAssertEqual(try String(contentsOfFile: run + "/notes.txt", encoding: .utf8), "mine")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: run + "/checkpoints").filter { $0.hasPrefix("step-") },
                       ["step-00000002.safetensors"])
    }

    func testASecondProcessIsTurnedAwayFromABusyFolder() throws {
        let data = try makeSmallMNIST(self, trainCount: 6400, testCount: 50)
        let run = try makeTemporaryDirectory(self)
        let first = try startCommand(productBinary, ["train", "--threads", "1", "--data-dir", data, "--run-dir", run,
                                                     "--epochs", "3", "--log-every", "1"])
        let started = Date()
        while !FileManager.default.fileExists(atPath: run + "/steps.csv") && Date().timeIntervalSince(started) < 60 { usleep(50_000) }
        // Even --overwrite, which would remove the first run's files, is stopped by the lock.
        let second = try train(["--data-dir", data, "--run-dir", run, "--overwrite"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: run + "/steps.csv"), "the running job's files are untouched")
        first.process.terminate()
        XCTAssertEqual(first.finish(timeout: 60).status, 0, "the first job stops gracefully with a checkpoint")
        XCTAssertNotEqual(second.status, 0)
        XCTAssertTrue(second.error.contains("is in use by another convnet-dist process (pid \(first.process.processIdentifier))"), second.error)
    }

    func testMidEpochResumeRefusesChangesThatRedefineTheEpoch() throws {
        let data = try data(), run = try makeTemporaryDirectory(self)
        XCTAssertEqual(try train(["--data-dir", data, "--run-dir", run, "--max-steps", "4"]).status, 0)
        for (flags, said) in [(["--batch-size", "60000"], "batch size 64 -> 60000"), (["--seed", "5"], "seed 1 -> 5"),
                              (["--no-shuffle"], "shuffle true -> false")] {
            let result = try train(["--data-dir", data, "--run-dir", run, "--resume"] + flags)
            XCTAssertNotEqual(result.status, 0, "\(flags)")
            XCTAssertTrue(result.error.contains("in the middle of epoch 1 (step 4) with \(said)"), result.error)
        }
        let other = try makeSmallMNIST(self, trainCount: 700, testCount: 50)
        let result = try train(["--data-dir", other, "--run-dir", run, "--resume"])
        XCTAssertTrue(result.error.contains("training data (640 samples"), result.error)
    }

    func testEpochBoundaryResumeMayChangeTheBatchSizeAndSaysSo() throws {
        let data = try data(), run = try makeTemporaryDirectory(self)
        XCTAssertEqual(try train(["--data-dir", data, "--run-dir", run, "--epochs", "1"]).status, 0)
        let result = try runCommand(productBinary, ["train", "--threads", "1", "--data-dir", data, "--run-dir", run,
                                                    "--resume", "--epochs", "2", "--batch-size", "32"], timeout: 120)
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertTrue(result.output.contains("Changed at the start of epoch 2: batch size 64 -> 32"), result.output)
        let rows = try String(contentsOfFile: run + "/metrics.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.count, 3)
        XCTAssertTrue(rows[2].hasPrefix("2,20,"), "epoch 2 took 640 / 32 steps: \(rows[2])")
    }

    /// steps.csv and metrics.csv continue across a resume: rows up to the checkpoint stay, rows the
    /// resumed run writes again are not duplicated.
    func testResumeKeepsTheLogsRows() throws {
        let data = try data(), run = try makeTemporaryDirectory(self)
        XCTAssertEqual(try train(["--data-dir", data, "--run-dir", run, "--max-steps", "4", "--log-every", "2"]).status, 0)
        XCTAssertEqual(try train(["--data-dir", data, "--run-dir", run, "--resume", "--epochs", "2", "--log-every", "2"]).status, 0)
        let steps = try String(contentsOfFile: run + "/steps.csv", encoding: .utf8).split(separator: "\n").dropFirst()
        XCTAssertEqual(steps.map { Int($0.split(separator: ",")[0])! }, Array(stride(from: 2, through: 20, by: 2)))
        let epochs = try String(contentsOfFile: run + "/metrics.csv", encoding: .utf8).split(separator: "\n").dropFirst()
        XCTAssertEqual(epochs.map { $0.split(separator: ",").prefix(2).joined(separator: ",") }, ["1,10", "2,10"])
    }

    /// A full disk while appending a row: a clear error, and no torn row.
    func testAFullDiskIsAnErrorNotACrash() throws {
        let run = try makeTemporaryDirectory(self)
        let log = try CSVLog(runDirectory: run, name: "steps.csv", header: "a,b")
        try log.append("1,2")
        try FileManager.default.removeItem(atPath: log.path)
        try FileManager.default.createSymbolicLink(atPath: log.path, withDestinationPath: "/dev/full")
        XCTAssertThrowsError(try log.append("3,4")) { error in
            XCTAssertTrue("\(error)".contains("cannot append to \(log.path)"), "\(error)")
            XCTAssertTrue("\(error)".lowercased().contains("space"), "\(error)")
        }
    }
}
