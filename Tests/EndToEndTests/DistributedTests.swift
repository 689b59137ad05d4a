import ConvNetData
import Foundation
import SafeTensors
import TestSupport
import XCTest

/// `mpirun -np N convnet-dist train` on this machine (ranks oversubscribe its cores).
final class DistributedTests: XCTestCase {
    private func launch(_ ranks: Int, _ arguments: [String], mca: [String] = [], timeout: Double = 300) throws -> CommandResult {
        try runCommand(try mpirunPath(), mpirunArguments(ranks) + mca + [productBinary] + arguments,
                       environment: mpiEnvironment, timeout: timeout)
    }

    private func steps(_ runDirectory: String) throws -> [(loss: Double, samples: Int)] {
        let rows = try String(contentsOfFile: runDirectory + "/steps.csv", encoding: .utf8).split(separator: "\n").dropFirst()
        return rows.map { row in
            let fields = row.split(separator: ",")
            return (Double(fields[3])!, Int(fields[5])!)
        }
    }

    private func weights(_ runDirectory: String) throws -> [Float] {
        let file = try SafeTensors.read(path: runDirectory + "/model.safetensors")
        return file.names.flatMap { file.tensors[$0]!.values }
    }

    /// The same global batches on 1, 2, 3 and 4 ranks: the same losses and, after 50 steps, the same
    /// weights. Shuffled, so each batch holds uneven numbers of each shard's samples and ranks send
    /// each other samples to compute even shares (`EvenShare`).
    func testOneToFourRanksTrainTheSameModel() throws {
        let data = try SharedData.mnistDirectory()
        var reference: (steps: [(loss: Double, samples: Int)], weights: [Float])?
        for ranks in 1...4 {
            let runDirectory = try makeTemporaryDirectory(self)
            let result = try launch(ranks, ["train", "--data-dir", data, "--run-dir", runDirectory,
                                            "--max-steps", "50", "--log-every", "1", "--threads", "1"])
            XCTAssertEqual(result.status, 0, result.error)
            let run = (try steps(runDirectory), try weights(runDirectory))
            XCTAssertEqual(run.0.count, 50)
            guard let reference else { reference = run; continue }
            for (step, (ours, theirs)) in zip(run.0, reference.steps).enumerated() {
                XCTAssertEqual(ours.samples, theirs.samples)
                XCTAssertEqual(ours.loss, theirs.loss, "\(ranks) ranks, step \(step + 1): the same loss as printed with 9 digits")
            }
            let difference = maxAbsoluteDifference(run.1, reference.weights)
            print("\(ranks) ranks: max |weight difference| to 1 rank after 50 steps = \(difference)")
            XCTAssertEqual(run.1.map(\.bitPattern), reference.weights.map(\.bitPattern), "\(ranks) ranks: the README promises identical bits")
        }
    }

    /// Batch normalisation (global-batch statistics summed across ranks inside the pass) and dropout
    /// (masks drawn from the sample's identity): 1, 2, 3 and 4 ranks, and 2 threads, write the same
    /// model file, byte for byte, moving statistics included.
    func testBatchNormAndDropoutTrainTheSameBytesOnOneToFourRanks() throws {
        let data = try SharedData.mnistDirectory()
        let config = SharedData.packageRoot.appendingPathComponent("configs/fashion-mnist-bn.toml").path
        var reference: Data?
        for (ranks, threads) in [(1, 1), (1, 2), (2, 1), (3, 1), (4, 1)] {
            let runDirectory = try makeTemporaryDirectory(self)
            let result = try launch(ranks, ["train", "--config", config, "--data-dir", data, "--run-dir", runDirectory,
                                            "--batch-size", "64", "--max-steps", "50", "--threads", String(threads)])
            XCTAssertEqual(result.status, 0, result.error)
            let bytes = try Data(contentsOf: URL(fileURLWithPath: runDirectory + "/model.safetensors"))
            let file = try SafeTensors.decode(bytes)
            XCTAssertNotNil(file.tensors["batch_normalization_2.moving_variance"], "the model file holds the moving statistics")
            guard let reference else { reference = bytes; continue }
            XCTAssertEqual(bytes, reference, "\(ranks) rank(s) x \(threads) thread(s) vs 1 x 1")
        }
    }

    /// Seven ranks over 1,000 samples (uneven shards, a short last batch): one full epoch, no hang,
    /// and the same steps and per-step sample counts as one rank.
    func testSevenRanksFinishAnEpochLikeOneRank() throws {
        let data = try makeSmallMNIST(self, trainCount: 1000, testCount: 200)
        var counts: [[Int]] = []
        for ranks in [1, 7] {
            let runDirectory = try makeTemporaryDirectory(self)
            let result = try launch(ranks, ["train", "--data-dir", data, "--run-dir", runDirectory, "--epochs", "1",
                                            "--log-every", "1", "--threads", "1"], timeout: 240)
            XCTAssertEqual(result.status, 0, result.error)
            counts.append(try steps(runDirectory).map(\.samples))
        }
        XCTAssertEqual(counts[0].count, 16)
        XCTAssertEqual(counts[0].reduce(0, +), 1000)
        XCTAssertEqual(counts[0].last, 40)
        XCTAssertEqual(counts[1], counts[0])
    }

    /// TCP between ranks (as between machines) trains the same model as shared memory.
    func testTCPOnlyTransportTrainsTheSameModel() throws {
        let data = try SharedData.mnistDirectory()
        var results: [[Float]] = []
        for mca in [[], ["--mca", "btl", "self,tcp"]] {
            let runDirectory = try makeTemporaryDirectory(self)
            let result = try launch(2, ["train", "--data-dir", data, "--run-dir", runDirectory, "--max-steps", "30",
                                        "--threads", "1"], mca: mca)
            XCTAssertEqual(result.status, 0, result.error)
            results.append(try weights(runDirectory))
        }
        XCTAssertEqual(results[0].map(\.bitPattern), results[1].map(\.bitPattern), "identical bits over TCP")
    }

    /// A failure on rank 0 alone (it alone reads the test set) ends every rank with the message.
    func testErrorOnOneRankEndsTheJob() throws {
        let data = try makeSmallMNIST(self, trainCount: 100, testCount: 10)
        try FileManager.default.removeItem(atPath: data + "/t10k-images-idx3-ubyte")
        let start = Date()
        let result = try launch(2, ["train", "--data-dir", data, "--run-dir", try makeTemporaryDirectory(self)], timeout: 60)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.error.contains("t10k-images-idx3-ubyte.gz not found"), result.error)
        XCTAssertLessThan(Date().timeIntervalSince(start), 30)
    }

    /// kill -9 of one rank mid-epoch: mpirun exits non-zero within 10 s and no rank survives.
    func testKilledRankEndsTheJobQuickly() throws {
        let runDirectory = try makeTemporaryDirectory(self)
        let job = try startCommand(try mpirunPath(), mpirunArguments(2) + [productBinary, "train",
                                   "--data-dir", try SharedData.mnistDirectory(), "--run-dir", runDirectory,
                                   "--log-every", "1", "--threads", "1"], environment: mpiEnvironment)
        // Wait until training is under way.
        let started = Date()
        while (try? steps(runDirectory).count) ?? 0 < 20 && Date().timeIntervalSince(started) < 60 { usleep(100_000) }
        let ranks = try rankProcesses(of: runDirectory)
        XCTAssertEqual(ranks.count, 2, "rank processes: \(ranks)")
        let victim = try XCTUnwrap(ranks.last)
        kill(victim, SIGKILL)
        let killedAt = Date()
        let result = job.finish(timeout: 30)
        let seconds = Date().timeIntervalSince(killedAt)
        print("mpirun exited \(result.status) \(seconds) s after kill -9 of one rank")
        XCTAssertNotEqual(result.status, 0)
        XCTAssertLessThan(seconds, 10)
        usleep(500_000)
        XCTAssertEqual(try rankProcesses(of: runDirectory), [], "ranks left behind")
    }

    /// PIDs of the rank processes (not mpirun) whose command line names `runDirectory`.
    private func rankProcesses(of runDirectory: String) throws -> [Int32] {
        let result = try runCommand("/usr/bin/pgrep", ["-f", "^\(productBinary) train .*\(runDirectory)"])
        return result.output.split(separator: "\n").compactMap { Int32($0) }.sorted()
    }
}
