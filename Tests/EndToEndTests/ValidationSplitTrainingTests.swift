import ConvNetCore
import ConvNetData
import Foundation
import TestSupport
import Training
import XCTest

/// `--validation-split`: the held-out samples' figures are what `evaluate` says of them, the same
/// for any rank and thread count; the rest trains as a truncated file; resume stays bit-exact.
final class ValidationSplitTrainingTests: XCTestCase {
    /// 1,010 training images: a 0.1 split keeps 909 (odd, so on 2 ranks the validation shards do
    /// not start where the training shards do) and holds out 101.
    private static let trainCount = 1010, keptCount = 909

    private func smallData() throws -> String { try makeSmallMNIST(self, trainCount: Self.trainCount, testCount: 200) }

    private func train(_ arguments: [String], ranks: Int = 1, threads: Int = 2) throws -> CommandResult {
        let command = ["train", "--threads", String(threads), "--batch-size", "64"] + arguments
        let result = ranks == 1 ? try runCommand(productBinary, command, timeout: 300) : try runUnderMPI(ranks, command)
        XCTAssertEqual(result.status, 0, result.error)
        return result
    }

    /// `metrics.csv` as one dictionary per row.
    private func metrics(_ runDirectory: String) throws -> [[String: String]] {
        let lines = try String(contentsOfFile: runDirectory + "/metrics.csv", encoding: .utf8).split(separator: "\n")
        let header = lines[0].split(separator: ",").map(String.init)
        return lines.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(header, $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init))) }
    }

    /// The `epoch` events of `--json-logs` output.
    private func epochEvents(_ output: String) throws -> [[String: Any]] {
        try output.split(separator: "\n").compactMap { line -> [String: Any]? in
            guard line.hasPrefix("{") else { return nil }
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return object?["event"] as? String == "epoch" ? object : nil
        }
    }

    private func weights(_ runDirectory: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: runDirectory + "/model.safetensors"))
    }

    /// Samples `range` of the training file as an IDX set named `prefix` in `directory`.
    private func writeSamples(_ range: Range<Int>, of data: String, prefix: String, into directory: String) throws {
        let set = try IDXFiles(directory: data).loadTraining(expectedShape: [28, 28, 1], classes: 10)
        try IDXWriter.writeSet(directory: directory, prefix: prefix, pixels: Array(set.pixels[(range.lowerBound * 784)..<(range.upperBound * 784)]),
                               labels: Array(set.labels[range]))
    }

    /// The done-when test: `val_loss`/`val_accuracy` of each epoch are `evaluate`'s test figures for
    /// that epoch's checkpoint on a test set made of the last 10% of the training file.
    func testValidationMetricsMatchEvaluateOnTheHeldOutSamples() throws {
        let data = try smallData(), run = try makeTemporaryDirectory(self)
        let result = try train(["--data-dir", data, "--run-dir", run, "--epochs", "2", "--validation-split", "0.1", "--json-logs"])
        XCTAssertTrue(result.output.contains("Training on \(Self.keptCount) samples (\(Self.trainCount - Self.keptCount) more held out for validation)"),
                      result.output)
        let rows = try metrics(run), events = try epochEvents(result.output)
        XCTAssertEqual(rows.count, 2)
        XCTAssertEqual(events.count, 2)
        let heldOut = try makeTemporaryDirectory(self)
        try writeSamples(Self.keptCount..<Self.trainCount, of: data, prefix: "t10k", into: heldOut)
        let checkpoints = try FileManager.default.contentsOfDirectory(atPath: run + "/checkpoints").filter { $0.hasSuffix(".safetensors") }
        for epoch in 1...2 {
            // The checkpoint written after epoch `epoch` is positioned at the start of the next one.
            let name = try XCTUnwrap(checkpoints.first { name in
                (try? Checkpoint.load(path: run + "/checkpoints/" + name))?.position == TrainingPosition(
                    epoch: epoch + 1, step: 0, globalStep: epoch * 15, epochTotals: BatchStatistics(), epochSeconds: 0)
            }, "no end-of-epoch-\(epoch) checkpoint among \(checkpoints)")
            let valLoss = try XCTUnwrap(events[epoch - 1]["val_loss"] as? Double)
            let valAccuracy = try XCTUnwrap(events[epoch - 1]["val_accuracy"] as? Double)
            // On 1 process with 1 thread and on 2 ranks: the figures do not depend on the partition.
            for ranks in [1, 2] {
                let arguments = ["evaluate", "--checkpoint", run + "/checkpoints/" + name, "--data-dir", heldOut, "--threads", "1", "--json"]
                let evaluation = ranks == 1 ? try runCommand(productBinary, arguments) : try runUnderMPI(ranks, arguments)
                XCTAssertEqual(evaluation.status, 0, evaluation.error)
                let figures = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(evaluation.output.utf8)) as? [String: Any])
                let testLoss = try XCTUnwrap(figures["test_loss"] as? Double), testAccuracy = try XCTUnwrap(figures["test_accuracy"] as? Double)
                print("epoch \(epoch): val_loss \(valLoss) val_accuracy \(valAccuracy); "
                      + "evaluate on \(ranks) rank(s): test_loss \(testLoss) test_accuracy \(testAccuracy)")
                XCTAssertEqual(figures["samples"] as? Int, Self.trainCount - Self.keptCount)
                XCTAssertEqual(valAccuracy, testAccuracy, "epoch \(epoch)")
                XCTAssertEqual(valLoss.bitPattern, testLoss.bitPattern, "epoch \(epoch): \(valLoss) vs \(testLoss)")
                XCTAssertEqual(rows[epoch - 1]["val_loss"], String(format: "%.6f", testLoss), "epoch \(epoch)")
                XCTAssertEqual(rows[epoch - 1]["val_accuracy"], String(format: "%.6f", testAccuracy), "epoch \(epoch)")
            }
        }
        XCTAssertTrue(try String(contentsOfFile: run + "/config.toml", encoding: .utf8).contains("validation_split = 0.1\n"))
        let curves = try String(contentsOfFile: run + "/curves.svg", encoding: .utf8)
        XCTAssertTrue(curves.contains("val (last "), "curves.svg draws the validation curves")
        XCTAssertTrue(curves.contains("#2ca02c"), "in their own colour")
    }

    /// With a split, 1 to 3 ranks and 1 to 3 threads give the same weights and the same validation
    /// figures to the last bit; and the weights are those of a run on the file cut to the training part.
    /// A large split (505 held out), so that sums added in another order would show in the last bits.
    func testSplitIsTheSameForAnyRankAndThreadCountAndEqualsATruncatedFile() throws {
        let data = try smallData(), keptCount = 505
        let common = ["--data-dir", data, "--epochs", "1", "--validation-split", "0.5", "--json-logs"]
        var runs: [(String, Data, [[String: Any]], [[String: String]])] = []
        for (ranks, threads) in [(1, 1), (1, 2), (1, 3), (2, 1), (3, 1)] {
            let run = try makeTemporaryDirectory(self)
            let result = try train(common + ["--run-dir", run], ranks: ranks, threads: threads)
            runs.append(("\(ranks) rank(s) x \(threads) thread(s)", try weights(run), try epochEvents(result.output), try metrics(run)))
        }
        let (_, reference, referenceEvents, referenceRows) = runs[0]
        let referenceLoss = try XCTUnwrap(referenceEvents.first?["val_loss"] as? Double)
        print("val_loss \(referenceLoss), val_accuracy \(referenceEvents[0]["val_accuracy"] ?? "-")")
        for (name, weights, events, rows) in runs.dropFirst() {
            XCTAssertEqual(weights, reference, name)
            let loss = try XCTUnwrap(events.first?["val_loss"] as? Double)
            XCTAssertEqual(loss.bitPattern, referenceLoss.bitPattern, "\(name): \(loss) vs \(referenceLoss)")
            XCTAssertEqual(events[0]["val_accuracy"] as? Double, referenceEvents[0]["val_accuracy"] as? Double, name)
            for column in ["train_loss", "train_accuracy", "test_loss", "test_accuracy", "val_loss", "val_accuracy"] {
                XCTAssertEqual(rows[0][column], referenceRows[0][column], "\(name): \(column)")
            }
        }

        let truncated = try makeTemporaryDirectory(self)
        try writeSamples(0..<keptCount, of: data, prefix: "train", into: truncated)
        for name in [IDXFiles.testImages, IDXFiles.testLabels] {
            try FileManager.default.copyItem(atPath: data + "/" + name, toPath: truncated + "/" + name)
        }
        let run = try makeTemporaryDirectory(self)
        try train(["--data-dir", truncated, "--epochs", "1", "--threads", "1", "--run-dir", run])
        XCTAssertEqual(try weights(run), reference, "a 0.5 split trains as the file cut to its first \(keptCount) samples")
        let rows = try metrics(run)
        XCTAssertNil(rows[0]["val_loss"], "no split: metrics.csv has no validation columns")
        for column in ["train_loss", "train_accuracy", "test_loss", "test_accuracy"] {
            XCTAssertEqual(rows[0][column], referenceRows[0][column], column)
        }
    }

    /// Stopped mid-epoch and resumed, a split run ends with the same weights and validation figures
    /// as a straight one; changing the split mid-epoch is refused like any change of the epoch's data.
    func testResumeWithASplitIsBitExact() throws {
        let data = try smallData()
        let common = ["--data-dir", data, "--epochs", "2", "--validation-split", "0.1"]
        let straight = try makeTemporaryDirectory(self), stopped = try makeTemporaryDirectory(self)
        try train(common + ["--run-dir", straight])
        try train(common + ["--run-dir", stopped, "--max-steps", "20"])   // epoch 1 has 15 steps
        let changed = try runCommand(productBinary, ["train", "--threads", "2", "--run-dir", stopped, "--data-dir", data,
                                                     "--resume", "--validation-split", "0.2"])
        XCTAssertNotEqual(changed.status, 0)
        XCTAssertTrue(changed.error.contains("validation split 0.1 -> 0.2"), changed.error)
        XCTAssertEqual(changed.error.split(separator: "\n").count, 1, changed.error)
        let resumed = try train(["--run-dir", stopped, "--data-dir", data, "--resume"])
        XCTAssertTrue(resumed.output.contains("Resuming from"), resumed.output)
        XCTAssertEqual(try weights(stopped), try weights(straight))
        let rows = try metrics(stopped), straightRows = try metrics(straight)
        XCTAssertEqual(rows.count, 2)
        for epoch in 0..<2 {
            for column in ["train_loss", "train_accuracy", "test_loss", "test_accuracy", "val_loss", "val_accuracy"] {
                XCTAssertEqual(rows[epoch][column], straightRows[epoch][column], "epoch \(epoch + 1): \(column)")
            }
        }
    }

    /// A split added when resuming at an epoch boundary is logged as a change; metrics.csv gains the
    /// validation columns (empty for the epoch before) and curves.svg is still drawn from it.
    func testASplitAddedAtAnEpochBoundaryIsLoggedAndExtendsMetrics() throws {
        let data = try smallData(), run = try makeTemporaryDirectory(self)
        try train(["--data-dir", data, "--run-dir", run, "--epochs", "1"])
        let resumed = try train(["--data-dir", data, "--run-dir", run, "--resume", "--epochs", "2", "--validation-split", "0.1"])
        XCTAssertTrue(resumed.output.contains("Changed at the start of epoch 2: "), resumed.output)
        XCTAssertTrue(resumed.output.contains("validation split 0.0 -> 0.1"), resumed.output)
        let lines = try String(contentsOfFile: run + "/metrics.csv", encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertTrue(lines[0].hasSuffix(",eval_seconds,val_loss,val_accuracy"), String(lines[0]))
        XCTAssertTrue(lines[1].hasPrefix("1,") && lines[1].hasSuffix(",,"), String(lines[1]))
        let rows = try metrics(run)
        XCTAssertEqual(rows.count, 2)
        XCTAssertNotNil(Double(rows[1]["val_loss"] ?? ""), "\(rows[1])")
        let curves = try String(contentsOfFile: run + "/curves.svg", encoding: .utf8)
        XCTAssertTrue(curves.contains("val (last \(String(format: "%.4f", Double(rows[1]["val_loss"]!)!)))"), curves)
    }

    /// Bad splits: one line on standard error, a non-zero exit.
    func testBadSplitsAreOneLineErrors() throws {
        let data = try makeSmallMNIST(self, trainCount: 100, testCount: 20)
        func failure(_ split: String) throws -> String {
            let result = try runCommand(productBinary, ["train", "--data-dir", data, "--run-dir", try makeTemporaryDirectory(self),
                                                        "--validation-split=\(split)", "--threads", "1"])
            XCTAssertNotEqual(result.status, 0, split)
            XCTAssertFalse(result.crashed, split)
            XCTAssertEqual(result.error.split(separator: "\n").count, 1, "\(split): \(result.error)")
            return result.error
        }
        for split in ["-0.1", "1", "1.5", "nan"] {
            let error = try failure(split)
            XCTAssertTrue(error.contains("--validation-split must be at least 0 and below 1"), "\(split): \(error)")
        }
        XCTAssertTrue(try failure("1e-17").contains("validation_split 1e-17 leaves no validation sample of the 100 training samples"))
        XCTAssertTrue(try failure("0.999").contains("validation_split 0.999 leaves no training sample of the 100 training samples"))
        let config = try makeTemporaryDirectory(self) + "/split.toml"
        let reference = try String(contentsOfFile: SharedData.packageRoot.path + "/configs/mnist.toml", encoding: .utf8)
        try reference.replacingOccurrences(of: "[data]\n", with: "[data]\nvalidation_split = 1.5\n")
            .write(toFile: config, atomically: true, encoding: .utf8)
        let result = try runCommand(productBinary, ["train", "--config", config, "--data-dir", data])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.error.contains("data.validation_split must be at least 0 and below 1, got 1.5"), result.error)
        XCTAssertEqual(result.error.split(separator: "\n").count, 1, result.error)
    }
}
