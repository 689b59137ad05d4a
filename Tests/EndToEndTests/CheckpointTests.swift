import ConvNetConfig
import ConvNetCore
import Foundation
import SafeTensors
import TestSupport
import Training
import XCTest

/// Checkpoints: bit-exact resume (after earlier epochs, after SIGTERM, across rank counts), crash
/// safety, malformed files, and reading them from Python.
final class CheckpointTests: XCTestCase {
    /// 3,200 training images: 50 steps per epoch.
    private func smallData() throws -> String { try makeSmallMNIST(self, trainCount: 3200, testCount: 200) }

    private func train(_ arguments: [String], timeout: Double = 300) throws -> CommandResult {
        let result = try runCommand(productBinary, ["train", "--threads", "2"] + arguments, timeout: timeout)
        XCTAssertEqual(result.status, 0, result.error)
        return result
    }

    /// Bit patterns of the final weights of a run.
    private func finalWeights(_ runDirectory: String) throws -> [UInt32] {
        let file = try SafeTensors.read(path: runDirectory + "/model.safetensors")
        return file.names.flatMap { file.tensors[$0]!.values.map(\.bitPattern) }
    }

    private func latestCheckpoint(_ runDirectory: String) throws -> Checkpoint {
        try Checkpoint.load(path: try CheckpointStore(runDirectory: runDirectory, keep: 3).latest())
    }

    /// Sends SIGTERM once the run has logged `steps` steps, then waits for it to end.
    private func terminate(_ job: RunningCommand, afterSteps steps: Int, of runDirectory: String) throws -> CommandResult {
        let started = Date()
        while try rows(runDirectory + "/steps.csv") < steps + 1 && Date().timeIntervalSince(started) < 60 { usleep(20_000) }
        job.process.terminate()
        return job.finish(timeout: 60)
    }

    private func rows(_ file: String) throws -> Int {
        (try? String(contentsOfFile: file, encoding: .utf8))?.split(separator: "\n").count ?? 0
    }

    func testResumeAfterEarlierEpochsIsBitExact() throws {
        let data = try smallData()
        let straight = try makeTemporaryDirectory(self), split = try makeTemporaryDirectory(self)
        try train(["--data-dir", data, "--run-dir", straight, "--epochs", "3"])
        try train(["--data-dir", data, "--run-dir", split, "--epochs", "1"])
        XCTAssertEqual(try latestCheckpoint(split).position, TrainingPosition(epoch: 2, step: 0, globalStep: 50,
                                                                             epochTotals: BatchStatistics(), epochSeconds: 0))
        let resumed = try train(["--data-dir", data, "--run-dir", split, "--resume", "--epochs", "3"])
        XCTAssertTrue(resumed.output.contains("Resuming from"), resumed.output)
        XCTAssertEqual(try finalWeights(split), try finalWeights(straight))
        XCTAssertEqual(try rows(split + "/metrics.csv"), 4, "metrics.csv continues: header + 3 epochs")
    }

    /// `--max-steps` at an epoch's end ends the run there, with that epoch's row and checkpoint,
    /// even when more epochs are configured.
    func testMaxStepsAtAnEpochsEndTakesNoFurtherStep() throws {
        let runDirectory = try makeTemporaryDirectory(self)
        try train(["--data-dir", try smallData(), "--run-dir", runDirectory, "--epochs", "2", "--max-steps", "50"])
        XCTAssertEqual(try latestCheckpoint(runDirectory).position.globalStep, 50)
        let metrics = try String(contentsOfFile: runDirectory + "/metrics.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(metrics.count, 2, "header + epoch 1: \(metrics)")
        XCTAssertTrue(metrics.last?.hasPrefix("1,50,") ?? false, "\(metrics)")
    }

    func testResumeAfterSIGTERMMidEpochIsBitExact() throws {
        let data = try makeSmallMNIST(self, trainCount: 6400, testCount: 200)
        let straight = try makeTemporaryDirectory(self), stopped = try makeTemporaryDirectory(self)
        try train(["--data-dir", data, "--run-dir", straight, "--epochs", "2"])
        let job = try startCommand(productBinary, ["train", "--threads", "2", "--data-dir", data, "--run-dir", stopped,
                                                   "--epochs", "2", "--log-every", "1"])
        let result = try terminate(job, afterSteps: 30, of: stopped)
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertTrue(result.output.contains("Resume with: convnet-dist train --resume --run-dir"), result.output)
        let position = try latestCheckpoint(stopped).position
        XCTAssertTrue(position.step > 0 && position.step < 100, "stopped mid-epoch: \(position)")
        try train(["--data-dir", data, "--run-dir", stopped, "--resume"])
        XCTAssertEqual(try finalWeights(stopped), try finalWeights(straight))
    }

    /// A model with batch norm (moving statistics in the checkpoint) and dropout (masks from the global
    /// step), stopped mid-epoch and resumed, writes the same bytes as a straight run.
    func testResumeWithBatchNormAndDropoutIsByteExact() throws {
        let data = try smallData()
        let config = SharedData.packageRoot.appendingPathComponent("configs/fashion-mnist-bn.toml").path
        let common = ["--config", config, "--data-dir", data, "--batch-size", "64"]
        let straight = try makeTemporaryDirectory(self), split = try makeTemporaryDirectory(self)
        try train(common + ["--run-dir", straight, "--max-steps", "65"])
        try train(common + ["--run-dir", split, "--max-steps", "20"])
        XCTAssertEqual(try latestCheckpoint(split).position.globalStep, 20)
        XCTAssertFalse(try latestCheckpoint(split).state.isEmpty)
        try train(common + ["--run-dir", split, "--resume", "--max-steps", "65"])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: split + "/model.safetensors")),
                       try Data(contentsOf: URL(fileURLWithPath: straight + "/model.safetensors")))
    }

    /// Written by 4 ranks mid-epoch, resumed by 2 ranks and by 1: same position, same final weights
    /// as an uninterrupted run (training does not depend on the rank count).
    func testCheckpointFromFourRanksResumesOnTwoAndOne() throws {
        let data = try smallData()
        let straight = try makeTemporaryDirectory(self)
        try train(["--data-dir", data, "--run-dir", straight, "--epochs", "2"])
        let four = try makeTemporaryDirectory(self)
        let written = try runUnderMPI(4, ["train", "--threads", "1", "--data-dir", data, "--run-dir", four,
                                          "--epochs", "2", "--max-steps", "70"])
        XCTAssertEqual(written.status, 0, written.error)
        let checkpoint = try CheckpointStore(runDirectory: four, keep: 3).latest()
        XCTAssertEqual(try Checkpoint.load(path: checkpoint).position.epoch, 2)
        XCTAssertEqual(try Checkpoint.load(path: checkpoint).position.step, 20)
        for ranks in [2, 1] {
            let runDirectory = try makeTemporaryDirectory(self)
            let result = try runUnderMPI(ranks, ["train", "--threads", "1", "--data-dir", data, "--run-dir", runDirectory,
                                                 "--resume", checkpoint])
            XCTAssertEqual(result.status, 0, result.error)
            XCTAssertTrue(result.output.contains("epoch 2, step 20 (global step 70); written by 4 rank(s), now \(ranks)"), result.output)
            XCTAssertEqual(try finalWeights(runDirectory), try finalWeights(straight), "resumed on \(ranks) rank(s)")
        }
    }

    /// SIGTERM to the one-machine launcher: every rank stops at the same step, rank 0 checkpoints,
    /// and the job exits 0.
    func testSIGTERMToTheLauncherStopsGracefully() throws {
        let data = try makeSmallMNIST(self, trainCount: 6400, testCount: 200)
        let runDirectory = try makeTemporaryDirectory(self)
        let launcher = SharedData.packageRoot.appendingPathComponent("launch/mpirun-local").path
        let job = try startCommand(launcher, ["2", "train", "--threads", "1", "--data-dir", data, "--run-dir", runDirectory,
                                              "--log-every", "1"], environment: mpiEnvironment)
        let result = try terminate(job, afterSteps: 20, of: runDirectory)
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertTrue(result.output.contains("Stopped on request"), result.output)
        XCTAssertGreaterThan(try latestCheckpoint(runDirectory).position.globalStep, 0)
    }

    /// kill -9 at random moments while checkpoints are written every step: the latest checkpoint
    /// always loads, and the run always resumes.
    func testKillDuringCheckpointWritesNeverLeavesABrokenCheckpoint() throws {
        let data = try makeSmallMNIST(self, trainCount: 1600, testCount: 100)
        let runDirectory = try makeTemporaryDirectory(self)
        var generator = SystemRandomNumberGenerator()
        var kills = 0
        for round in 0..<20 {
            var arguments = ["train", "--threads", "1", "--data-dir", data, "--run-dir", runDirectory,
                             "--epochs", "1000", "--checkpoint-every", "1", "--keep", "2"]
            if round > 0 { arguments += ["--resume"] }
            let job = try startCommand(productBinary, arguments)
            usleep(UInt32.random(in: 400_000...1_200_000, using: &generator))
            kill(job.process.processIdentifier, SIGKILL)
            _ = job.finish(timeout: 30)
            kills += 1
            XCTAssertNoThrow(try latestCheckpoint(runDirectory), "after kill \(kills)")
        }
        let position = try latestCheckpoint(runDirectory).position
        XCTAssertGreaterThanOrEqual(position.globalStep, 20, "at least 20 checkpoint writes were interrupted around")
        let finish = try train(["--data-dir", data, "--run-dir", runDirectory, "--resume", "--max-steps", String(position.globalStep + 3)])
        XCTAssertTrue(finish.output.contains("Resuming from"))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: runDirectory + "/checkpoints").filter { $0.contains(".tmp-") }
        XCTAssertEqual(leftovers, [], "temporary files are cleaned up")
    }

    func testMalformedCheckpointsAreRefusedWithTheirReason() throws {
        let model = try Sequential(.kerasMNIST)
        var config = ExperimentConfig.reference
        config.seed = 3
        let parameters = FloatBuffer(count: model.parameterCount)
        Initialization.glorotUniform(model, seed: 3, into: parameters)
        let good = Checkpoint(config: config, position: .start, worldSize: 2, parameters: parameters.array,
                              optimizerIterations: 0, optimizerState: ["rms": [Float](repeating: 0.5, count: model.parameterCount)])
            .encoded(model: model)
        let directory = try makeTemporaryDirectory(self)
        func message(_ data: Data) throws -> String {
            let path = directory + "/checkpoint.safetensors"
            try data.write(to: URL(fileURLWithPath: path))
            do { _ = try Checkpoint.load(path: path); return "loaded" } catch { return "\(error)" }
        }
        XCTAssertEqual(try message(good), "loaded")
        let loaded = try Checkpoint.load(path: directory + "/checkpoint.safetensors")
        XCTAssertEqual(loaded.parameters, parameters.array)
        XCTAssertEqual(loaded.config, config)
        XCTAssertEqual(loaded.worldSize, 2)

        XCTAssertTrue(try message(good.prefix(good.count - 100)).contains("truncated"))
        XCTAssertTrue(try message(good.prefix(4)).contains("truncated"))
        var badHeader = good
        badHeader[9] = UInt8(ascii: "#")
        XCTAssertTrue(try message(badHeader).contains("bad header"))
        var absurd = good
        absurd.replaceSubrange(0..<8, with: withUnsafeBytes(of: UInt64(1) << 50) { Data($0) })
        XCTAssertTrue(try message(absurd).contains("absurd"))
        var corrupt = good
        corrupt[corrupt.count - 3] ^= 0x40
        XCTAssertTrue(try message(corrupt).contains("checksum mismatch"))

        // Same tensors, different metadata or names: re-encode through the safetensors layer.
        let file = try SafeTensors.decode(good)
        func reencoded(metadata: (inout [String: String]) -> Void = { _ in },
                       rename: (String) -> String = { $0 }) -> Data {
            var meta = file.metadata
            metadata(&meta)
            return SafeTensors.encode(file.names.map { (rename($0), file.tensors[$0]!) }, metadata: meta)
        }
        XCTAssertTrue(try message(reencoded { $0["format_version"] = "99" }).contains("unknown checkpoint format version 99"))
        XCTAssertTrue(try message(reencoded { $0["format"] = nil }).contains("not a convnet-dist checkpoint"))
        var otherModel = config
        otherModel.model.layers[0] = Conv2D(filters: 16, kernelSize: (3, 3), activation: .relu)
        XCTAssertTrue(try message(reencoded { $0["config"] = otherModel.tomlText }).contains("different architecture"))
        let renamed = reencoded(metadata: { _ in }, rename: { $0 == "dense_2.bias" ? "dense_3.bias" : $0 })
        XCTAssertTrue(try message(renamed).contains("checksum mismatch") || (try message(renamed)).contains("different architecture"))
    }

    func testResumingWithADifferentArchitectureIsRefused() throws {
        let data = try makeSmallMNIST(self, trainCount: 640, testCount: 100)
        let runDirectory = try makeTemporaryDirectory(self)
        try train(["--data-dir", data, "--run-dir", runDirectory, "--epochs", "1"])
        let other = runDirectory + "/other.toml"
        try ExperimentConfig.reference.tomlText.replacingOccurrences(of: "units = 64", with: "units = 32")
            .write(toFile: other, atomically: true, encoding: .utf8)
        let result = try runCommand(productBinary, ["train", "--data-dir", data, "--run-dir", runDirectory, "--resume",
                                                    "--config", other, "--epochs", "2"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.error.contains("different architecture"), result.error)
    }

    /// Python's safetensors reads a checkpoint, and an independent NumPy forward pass over it gives
    /// the same outputs as convnet-dist.
    func testPythonReadsCheckpointAndNumPyForwardMatches() throws {
        let python = "/usr/bin/env"
        let probe = try runCommand(python, ["python3", "-c", "import numpy, safetensors.numpy"])
        guard probe.status == 0 else {
            if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail("python3 with numpy and safetensors is required in CI") }
            throw XCTSkip("python3 with numpy and safetensors not available (pip install safetensors)")
        }
        let mnist = try SharedData.mnistDirectory()
        let runDirectory = try makeTemporaryDirectory(self)
        try train(["--data-dir", mnist, "--run-dir", runDirectory, "--max-steps", "60"])
        let checkpoint = try CheckpointStore(runDirectory: runDirectory, keep: 3).latest()
        let ours = try runCommand(productBinary, ["evaluate", "--checkpoint", checkpoint, "--data-dir", mnist, "--json", "--outputs", "8"])
        XCTAssertEqual(ours.status, 0, ours.error)
        let script = SharedData.packageRoot.appendingPathComponent("Tests/python/forward_numpy.py").path
        let numpy = try runCommand(python, ["python3", script, checkpoint, mnist, "8"])
        XCTAssertEqual(numpy.status, 0, numpy.error)
        let ourOutputs = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(ours.output.utf8)) as? [String: Any])?["outputs"] as? [[Double]])
        let theirs = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(numpy.output.utf8)) as? [[Double]])
        XCTAssertEqual(ourOutputs.count, 8)
        let difference = zip(ourOutputs.joined(), theirs.joined()).map { abs($0 - $1) }.max() ?? 1
        print("NumPy forward pass vs convnet-dist, 8 test images: max |difference| = \(difference)")
        XCTAssertLessThanOrEqual(difference, 1e-4)
    }
}
