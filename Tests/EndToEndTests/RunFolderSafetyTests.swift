import Foundation
import TestSupport
import XCTest

/// Nothing the user made is destroyed before the new work is known to be valid: a folder holding
/// another run is refused untouched, `--overwrite` checks every input first and then removes only
/// what the old run wrote, a lock file is never followed, and `convert` never writes into its input.
final class RunFolderSafetyTests: XCTestCase {
    /// 640 training images: 10 steps per epoch.
    private func data() throws -> String { try makeSmallMNIST(self, trainCount: 640, testCount: 50) }

    private func train(_ arguments: [String]) throws -> CommandResult {
        try runCommand(productBinary, ["train", "--threads", "1", "--quiet"] + arguments, timeout: 120)
    }

    private func refused(_ result: CommandResult, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertNotEqual(result.status, 0, "expected a refusal", file: file, line: line)
        XCTAssertFalse(result.crashed, result.error, file: file, line: line)
        XCTAssertEqual(result.error.split(separator: "\n").count, 1, "one line: \(result.error)", file: file, line: line)
    }

    /// Every file under `folder` (links as their targets' names) with its bytes; `.lock` holds the
    /// pid of whichever process last took the lock, and is left out.
    private func snapshot(_ folder: String) throws -> [String: Data] {
        var files: [String: Data] = [:]
        for name in try FileManager.default.subpathsOfDirectory(atPath: folder) where name != ".lock" {
            let path = folder + "/" + name
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: path) {
                files[name] = Data(("link to " + target).utf8)
                continue
            }
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue {
                files[name] = try Data(contentsOf: URL(fileURLWithPath: path))
            } else {
                files[name] = Data("folder".utf8)
            }
        }
        return files
    }

    /// `--resume runsA/checkpoints/... --run-dir runsB`, B holding a finished run of its own: refused
    /// before anything in B changes. A's checkpoint still starts a new folder, and B's own
    /// checkpoint (even a copy kept elsewhere) still continues B.
    func testAnotherRunsCheckpointIsRefusedInAFolderHoldingARun() throws {
        let data = try data(), a = try makeTemporaryDirectory(self), b = try makeTemporaryDirectory(self)
        XCTAssertEqual(try train(["--data-dir", data, "--run-dir", a, "--max-steps", "5"]).status, 0)
        XCTAssertEqual(try train(["--data-dir", data, "--run-dir", b, "--epochs", "1", "--seed", "7"]).status, 0)
        let before = try snapshot(b)
        let foreign = a + "/checkpoints/step-00000005.safetensors"
        let lockBefore = try Data(contentsOf: URL(fileURLWithPath: b + "/.lock"))
        let result = try train(["--data-dir", data, "--run-dir", b, "--resume", foreign, "--epochs", "2"])
        refused(result)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: b + "/.lock")), lockBefore, "not even the lock is written")
        XCTAssertTrue(result.error.contains("run folder \(b) holds another run than the checkpoint \(foreign)"), result.error)
        XCTAssertTrue(result.error.contains("new --run-dir"), result.error)
        XCTAssertEqual(try snapshot(b), before, "B is untouched")

        let fresh = try makeTemporaryDirectory(self) + "/new"
        let started = try train(["--data-dir", data, "--run-dir", fresh, "--resume", foreign])
        XCTAssertEqual(started.status, 0, started.error)

        let copy = try makeTemporaryDirectory(self) + "/kept.safetensors"
        try FileManager.default.copyItem(atPath: b + "/checkpoints/step-00000010.safetensors", toPath: copy)
        let continued = try train(["--data-dir", data, "--run-dir", b, "--resume", copy, "--epochs", "2"])
        XCTAssertEqual(continued.status, 0, continued.error)
        XCTAssertEqual(try String(contentsOfFile: b + "/metrics.csv", encoding: .utf8).split(separator: "\n").count, 3)
    }

    /// `--overwrite` with a typo in `--data-dir` or `--initial-weights` changes nothing; a valid one
    /// removes the old run's files and keeps the user's, in `checkpoints/` too.
    func testOverwriteValidatesFirstAndRemovesOnlyTheRunsFiles() throws {
        let data = try data(), run = try makeTemporaryDirectory(self)
        XCTAssertEqual(try train(["--data-dir", data, "--run-dir", run, "--max-steps", "3"]).status, 0)
        try "mine".write(toFile: run + "/notes.txt", atomically: true, encoding: .utf8)
        try "mine too".write(toFile: run + "/checkpoints/README", atomically: true, encoding: .utf8)
        let before = try snapshot(run)
        refused(try train(["--data-dir", data + "-typo", "--run-dir", run, "--overwrite"]))
        XCTAssertEqual(try snapshot(run), before, "a missing data folder leaves the old run whole")
        refused(try train(["--data-dir", data, "--run-dir", run, "--overwrite", "--initial-weights", run + "/nonexistent.safetensors"]))
        XCTAssertEqual(try snapshot(run), before, "missing initial weights leave the old run whole")

        let result = try train(["--data-dir", data, "--run-dir", run, "--overwrite", "--max-steps", "2"])
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertEqual(try String(contentsOfFile: run + "/notes.txt", encoding: .utf8), "mine")
        XCTAssertEqual(try String(contentsOfFile: run + "/checkpoints/README", encoding: .utf8), "mine too")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: run + "/checkpoints").filter { $0.hasPrefix("step-") },
                       ["step-00000002.safetensors"])
    }

    /// A manifest edited to list a path outside the folder, or a file under a subfolder since
    /// replaced by a link (`epochs/` of a model_checkpoint pattern): `--overwrite` removes nothing there.
    func testOverwriteNeverLeavesTheFolder() throws {
        let data = try data(), parent = try makeTemporaryDirectory(self), run = parent + "/run"
        XCTAssertEqual(try train(["--data-dir", data, "--run-dir", run, "--max-steps", "1"]).status, 0)
        try "victim".write(toFile: parent + "/victim.txt", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: parent + "/elsewhere", withIntermediateDirectories: true)
        try "victim".write(toFile: parent + "/elsewhere/w-01.safetensors", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: run + "/epochs", withDestinationPath: parent + "/elsewhere")
        let manifest = try FileHandle(forWritingTo: URL(fileURLWithPath: run + "/.convnet-run"))
        try manifest.seekToEnd()
        try manifest.write(contentsOf: Data("../victim.txt\n\(parent)/victim.txt\nepochs/w-01.safetensors\n".utf8))
        try manifest.close()
        XCTAssertEqual(try train(["--data-dir", data, "--run-dir", run, "--overwrite", "--max-steps", "1"]).status, 0)
        XCTAssertEqual(try String(contentsOfFile: parent + "/victim.txt", encoding: .utf8), "victim")
        XCTAssertEqual(try String(contentsOfFile: parent + "/elsewhere/w-01.safetensors", encoding: .utf8), "victim")
    }

    /// A run on an image folder writes class_names.txt; an `--overwrite` run on IDX files leaves none behind.
    func testOverwriteRemovesTheOldRunsClassNames() throws {
        let data = try makeSmallMNIST(self, trainCount: 640, testCount: 200), folder = try makeTemporaryDirectory(self) + "/pictures"
        let converted = try runCommand(productBinary, ["convert", "--data-dir", data, "--output", folder])
        XCTAssertEqual(converted.status, 0, converted.error)
        let run = try makeTemporaryDirectory(self)
        let first = try train(["--data-dir", folder, "--data-format", "folder", "--run-dir", run, "--max-steps", "2"])
        XCTAssertEqual(first.status, 0, first.error)
        XCTAssertTrue(FileManager.default.fileExists(atPath: run + "/class_names.txt"))
        let second = try train(["--data-dir", data, "--run-dir", run, "--overwrite", "--max-steps", "2"])
        XCTAssertEqual(second.status, 0, second.error)
        XCTAssertFalse(FileManager.default.fileExists(atPath: run + "/class_names.txt"), "a stale class_names.txt")
    }

    /// A `.lock` that is a symbolic link or a FIFO: refused, the link's target untouched.
    func testALockFileThatIsNotARegularFileIsRefusedNotFollowed() throws {
        let data = try data(), run = try makeTemporaryDirectory(self), target = try makeTemporaryDirectory(self) + "/precious.txt"
        try "precious".write(toFile: target, atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: run + "/.lock", withDestinationPath: target)
        let result = try train(["--data-dir", data, "--run-dir", run, "--max-steps", "1"])
        refused(result)
        XCTAssertTrue(result.error.contains("\(run)/.lock is a symbolic link"), result.error)
        XCTAssertEqual(try String(contentsOfFile: target, encoding: .utf8), "precious")
        let fifo = try makeTemporaryDirectory(self)
        XCTAssertEqual(mkfifo(fifo + "/.lock", 0o644), 0)
        let blocked = try runCommand(productBinary, ["train", "--threads", "1", "--quiet", "--data-dir", data, "--run-dir", fifo,
                                                     "--max-steps", "1"], timeout: 30)
        refused(blocked)
        XCTAssertTrue(blocked.error.contains("\(fifo)/.lock is not a regular file"), blocked.error)
    }

    /// `convert --output` empty, inside the data set (directly or through a link), or an existing
    /// link: refused, nothing written.
    func testConvertNeverWritesIntoItsInput() throws {
        let data = try data(), scratch = try makeTemporaryDirectory(self)
        let before = try snapshot(data)
        // From inside a scratch folder, so that the old behaviour (writing into the current folder) harms nothing.
        let empty = try runCommand("/bin/sh", ["-c", "cd \"$1\" && exec \"$2\" convert --data-dir \"$3\" --output ''", "sh",
                                               scratch, productBinary, data])
        refused(empty)
        XCTAssertTrue(empty.error.contains("--output is empty"), empty.error)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch), [])
        try FileManager.default.createSymbolicLink(atPath: scratch + "/alias", withDestinationPath: data)
        for output in [data + "/extra", scratch + "/alias/extra", data] {
            let result = try runCommand(productBinary, ["convert", "--data-dir", data, "--output", output])
            refused(result)
            XCTAssertTrue(result.error.contains("--output \(output)"), result.error)
        }
        XCTAssertTrue(try runCommand(productBinary, ["convert", "--data-dir", data, "--output", scratch + "/alias/extra"])
            .error.contains("lies inside the data set being converted"))
        try FileManager.default.createSymbolicLink(atPath: scratch + "/dangling", withDestinationPath: scratch + "/nowhere")
        let link = try runCommand(productBinary, ["convert", "--data-dir", data, "--output", scratch + "/dangling"])
        refused(link)
        XCTAssertTrue(link.error.contains("already exists (a symbolic link)"), link.error)
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch + "/nowhere"))
        XCTAssertEqual(try snapshot(data), before, "the data set is untouched")
    }
}
