import ConvNetConfig
import ConvNetCore
import Foundation
import TestSupport
import Training
import XCTest

/// The callbacks on real runs: early stopping with `restore_best_weights` stops, exits 0 and leaves
/// the best weights in model.safetensors (equal to model_checkpoint's best.safetensors); a run
/// stopped mid-epoch and resumed at another rank count decides the same and ends with the same
/// bytes; reduce_lr_on_plateau's rate is the one in steps.csv, composes with a schedule and resumes.
final class CallbackTrainingTests: XCTestCase {
    private static let model = """
        [data]
        validation_split = 0.2

        [model]
        input_shape = [28, 28, 1]
        classes = 10
        layers = [
          { type = "flatten" },
          { type = "dense", units = 32, activation = "relu" },
          { type = "dense", units = 10, activation = "softmax" },
        ]

        [training]
        epochs = 30
        batch_size = 100
        seed = 3

        [optimizer]
        name = "adam"
        learning_rate = 0.01

        """

    private static let stopping = model + """
        [[callbacks]]
        type = "early_stopping"
        patience = 1
        restore_best_weights = true

        [[callbacks]]
        type = "model_checkpoint"

        """

    private func write(_ text: String) throws -> String {
        let path = try makeTemporaryDirectory(self) + "/callbacks.toml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private func data() throws -> String { try makeSmallMNIST(self, trainCount: 1000, testCount: 100) }

    private func bytes(_ runDirectory: String, _ name: String = "model.safetensors") throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: runDirectory + "/" + name))
    }

    /// metrics.csv without the timings (epoch, steps, the figures).
    private func figures(_ runDirectory: String) throws -> [String] {
        try String(contentsOfFile: runDirectory + "/metrics.csv", encoding: .utf8).split(separator: "\n").map { row in
            let cells = row.split(separator: ",", omittingEmptySubsequences: false)
            return (cells.prefix(6) + cells.dropFirst(9)).joined(separator: ",")
        }
    }

    private func train(_ ranks: Int, _ arguments: [String]) throws -> CommandResult {
        let result = try runUnderMPI(ranks, ["train", "--threads", "1"] + arguments)
        XCTAssertEqual(result.status, 0, result.output + result.error)
        return result
    }

    private func stopEpoch(_ output: String) -> Int? {
        guard let range = output.range(of: "Early stopping after epoch ") else { return nil }
        return Int(output[range.upperBound...].prefix { $0.isNumber })
    }

    func testEarlyStoppingRestoresTheBestWeightsAndResumesAtAnyRankCount() throws {
        let data = try data(), config = try write(Self.stopping)
        let straight = try makeTemporaryDirectory(self)
        let result = try train(1, ["--config", config, "--data-dir", data, "--run-dir", straight])
        let epoch = try XCTUnwrap(stopEpoch(result.output), result.output)
        XCTAssertLessThan(epoch, 30)
        XCTAssertTrue(result.output.contains("Restored the weights of epoch"), result.output)
        XCTAssertEqual(try figures(straight).count, epoch + 1, "a header and one row per epoch run")
        XCTAssertEqual(try bytes(straight), try bytes(straight, "best.safetensors"), "restored best = model_checkpoint's best")
        for file in ["curves.svg", "confusion.svg", "config.toml"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: straight + "/" + file), file)
        }
        let manifest = try String(contentsOfFile: straight + "/.convnet-run", encoding: .utf8)
        XCTAssertTrue(manifest.contains("best.safetensors"), manifest)

        // Resuming a run that stopped early trains nothing and leaves its files as they were.
        let rows = try figures(straight), model = try bytes(straight)
        let again = try train(2, ["--data-dir", data, "--run-dir", straight, "--resume", "--epochs", "40"])
        XCTAssertTrue(again.output.contains("stopped early after epoch \(epoch)"), again.output)
        XCTAssertEqual(try figures(straight), rows)
        XCTAssertEqual(try bytes(straight), model)

        // Stopped in the middle of epoch 2 on 2 ranks, resumed on 3: the same decisions and bytes.
        let split = try makeTemporaryDirectory(self)
        _ = try train(2, ["--config", config, "--data-dir", data, "--run-dir", split, "--max-steps", "13"])
        let resumed = try train(3, ["--data-dir", data, "--run-dir", split, "--resume"])
        XCTAssertTrue(resumed.output.contains("epoch 2, step 5"), resumed.output)
        XCTAssertEqual(stopEpoch(resumed.output), epoch, resumed.output)
        XCTAssertEqual(try bytes(split), try bytes(straight), "model.safetensors after a resume")
        XCTAssertEqual(try bytes(split, "best.safetensors"), try bytes(straight, "best.safetensors"))
        XCTAssertEqual(try figures(split), try figures(straight))

        // --overwrite removes best.safetensors with the rest of the run.
        _ = try train(1, ["--data-dir", data, "--run-dir", split, "--overwrite", "--epochs", "1", "--validation-split", "0.2"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: split + "/best.safetensors"))
    }

    /// The model_checkpoint files of a run folder (outside checkpoints/), relative, sorted.
    private func saved(_ runDirectory: String) throws -> [String] {
        try FileManager.default.subpathsOfDirectory(atPath: runDirectory)
            .filter { $0.hasSuffix(".safetensors") && $0 != "model.safetensors" && !$0.hasPrefix("checkpoints/") }.sorted()
    }

    /// model_checkpoint's filepath patterns write one file per save, named as Keras names them, after
    /// each epoch or every save_freq global steps, beside a best-only model_checkpoint; a run stopped
    /// mid-epoch on 2 ranks and resumed on 3 writes the same files with the same bytes; --overwrite
    /// removes them; a link in the way is refused.
    func testCheckpointFilePatternsPerEpochAndPerStepResumeToTheSameFiles() throws {
        let data = try data(), base = Self.model.replacingOccurrences(of: "epochs = 30", with: "epochs = 3")
        let cases = [("filepath = \"epochs/w-{epoch:02d}-{val_loss:.4f}.safetensors\"\nsave_best_only = false\n\n[[callbacks]]\ntype = \"model_checkpoint\"",
                      ["epochs/w-01-", "epochs/w-02-", "epochs/w-03-"]),
                     ("filepath = \"s{epoch}-{batch:02d}-{loss:.3f}.safetensors\"\nsave_best_only = false\nsave_freq = 5",
                      ["s1-05-", "s2-02-", "s2-07-", "s3-04-"])]
        for (callback, prefixes) in cases {
            let config = try write(base + "[[callbacks]]\ntype = \"model_checkpoint\"\n" + callback + "\n")
            let straight = try makeTemporaryDirectory(self), split = try makeTemporaryDirectory(self)
            _ = try train(1, ["--config", config, "--data-dir", data, "--run-dir", straight])
            let all = try saved(straight), withBest = all.contains("best.safetensors")
            let files = all.filter { $0 != "best.safetensors" }
            XCTAssertEqual(withBest, prefixes[0].hasPrefix("epochs/"), "\(all)")
            XCTAssertEqual(files.count, prefixes.count, "\(files)")
            for (file, prefix) in zip(files, prefixes) {
                XCTAssertTrue(file.hasPrefix(prefix), "\(file) vs \(prefix)")
                XCTAssertNotNil(Double(file.dropFirst(prefix.count).dropLast(".safetensors".count)), file)
            }
            let manifest = try String(contentsOfFile: straight + "/.convnet-run", encoding: .utf8)
            XCTAssertTrue(files.allSatisfy { manifest.contains($0 + "\n") }, manifest)
            XCTAssertEqual(manifest.contains("best.safetensors"), withBest, manifest)

            _ = try train(2, ["--config", config, "--data-dir", data, "--run-dir", split, "--max-steps", "13"])
            _ = try train(3, ["--data-dir", data, "--run-dir", split, "--resume"])
            XCTAssertEqual(try saved(split), all)
            for file in all { XCTAssertEqual(try bytes(split, file), try bytes(straight, file), file) }
            XCTAssertEqual(try bytes(split), try bytes(straight))
            guard withBest else { continue }
            XCTAssertEqual(try bytes(straight, files.last!), try bytes(straight), "the last epoch's file holds the final weights")
            let rows = try String(contentsOfFile: straight + "/metrics.csv", encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",") }
            let column = try XCTUnwrap(rows[0].firstIndex(of: "val_loss"))
            let losses = rows.dropFirst().map { Double($0[column])! }
            for (file, loss) in zip(files, losses) {
                let named = Double(file.dropFirst("epochs/w-01-".count).dropLast(".safetensors".count))!
                XCTAssertEqual(named, loss, accuracy: 0.00006, "\(file): {val_loss:.4f} of \(loss)")
            }
            let bestEpoch = losses.indices.min { losses[$0] < losses[$1] }!
            XCTAssertEqual(try bytes(straight, "best.safetensors"), try bytes(straight, files[bestEpoch]),
                           "the best-only model_checkpoint beside the per-epoch one holds the best epoch's weights")

            _ = try train(1, ["--data-dir", data, "--run-dir", split, "--overwrite", "--epochs", "1", "--validation-split", "0.2"])
            XCTAssertEqual(try saved(split), [])
            XCTAssertFalse(FileManager.default.fileExists(atPath: split + "/epochs"), "the emptied folder goes with the run")

            let outside = try makeTemporaryDirectory(self), linked = try makeTemporaryDirectory(self)
            try FileManager.default.createSymbolicLink(atPath: linked + "/epochs", withDestinationPath: outside)
            let refused = try runUnderMPI(2, ["train", "--threads", "1", "--config", config, "--data-dir", data, "--run-dir", linked])
            XCTAssertNotEqual(refused.status, 0)
            XCTAssertTrue(refused.error.contains("\(linked)/epochs is a link, not a folder"), refused.error)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outside), [])
        }
    }

    /// A plateau that never improves by min_delta halves the rate after every epoch; steps.csv
    /// shows it, with and without a schedule, and a resume mid-epoch writes the same bytes and rates.
    func testPlateauRateInStepsCSVComposesWithAScheduleAndResumes() throws {
        let data = try data()
        for schedule in ["", "\n[optimizer.schedule]\nname = \"exponential_decay\"\ndecay_steps = 8\ndecay_rate = 0.5\n"] {
            let config = try write(Self.model.replacingOccurrences(of: "epochs = 30", with: "epochs = 4") + schedule + """

                [[callbacks]]
                type = "reduce_lr_on_plateau"
                monitor = "loss"
                patience = 1
                factor = 0.5
                min_delta = 100
                min_lr = 0.0012

                """)
            let straight = try makeTemporaryDirectory(self), split = try makeTemporaryDirectory(self)
            let result = try train(1, ["--config", config, "--data-dir", data, "--run-dir", straight, "--log-every", "1"])
            XCTAssertTrue(result.output.contains("reduce_lr_on_plateau lowered the learning rate"), result.output)
            let rates = try String(contentsOfFile: straight + "/steps.csv", encoding: .utf8).split(separator: "\n").dropFirst()
                .map { Float($0.split(separator: ",").last!)! }
            XCTAssertEqual(rates.count, 32)
            // Epoch 1 watches (nothing to compare), epoch 2 lowers: x0.5 from epoch 3, x0.25 from epoch 4.
            let decay = ExponentialDecay(decaySteps: 8, decayRate: 0.5)
            for (i, rate) in rates.enumerated() {
                let scheduled = schedule.isEmpty ? Float(0.01) : decay.learningRate(initial: 0.01, iterations: i)
                let expected: Float = switch i / 8 {
                case 0, 1: scheduled
                case 2: schedule.isEmpty ? Float(0.005) : max(scheduled * 0.5, 0.0012)
                default: schedule.isEmpty ? Float(0.0025) : max(scheduled * 0.25, 0.0012)
                }
                XCTAssertEqual(rate, expected, "step \(i + 1), schedule: \(!schedule.isEmpty)")
            }
            let rows = try String(contentsOfFile: straight + "/metrics.csv", encoding: .utf8).split(separator: "\n")
            XCTAssertTrue(rows[0].hasSuffix(",val_loss,val_accuracy,learning_rate"), String(rows[0]))
            XCTAssertEqual(rows.dropFirst().map { Float($0.split(separator: ",").last!)! }, [7, 15, 23, 31].map { rates[$0] },
                           "metrics.csv: the rate of each epoch's last step")
            _ = try train(2, ["--config", config, "--data-dir", data, "--run-dir", split, "--log-every", "1", "--max-steps", "19"])
            _ = try train(1, ["--data-dir", data, "--run-dir", split, "--resume", "--log-every", "1"])
            XCTAssertEqual(try bytes(split), try bytes(straight))
            XCTAssertEqual(try figures(split), try figures(straight))
            XCTAssertEqual(try String(contentsOfFile: split + "/steps.csv", encoding: .utf8),
                           try String(contentsOfFile: straight + "/steps.csv", encoding: .utf8))
        }
    }

    /// Errors before training, on every rank: a figure the run does not produce, and a resume whose
    /// callbacks differ from the checkpoint's state.
    func testCallbackErrorsAreOneLineOnEveryRank() throws {
        let data = try data(), runDirectory = try makeTemporaryDirectory(self)
        let missing = try runUnderMPI(2, ["train", "--data-dir", data, "--run-dir", runDirectory, "--threads", "1",
                                          "--callback", "early_stopping:patience=2"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.error.contains("val_loss needs data.validation_split"), missing.error)
        let bad = try runUnderMPI(1, ["train", "--data-dir", data, "--run-dir", runDirectory, "--callback", "early_stopping:patience=two"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.error.contains("--callback early_stopping:patience=two"), bad.error)
        let outside = try runUnderMPI(2, ["train", "--data-dir", data, "--run-dir", runDirectory, "--threads", "1",
                                          "--callback", "model_checkpoint:filepath=../w-{epoch}.safetensors"])
        XCTAssertNotEqual(outside.status, 0)
        XCTAssertTrue(outside.error.contains("--callback model_checkpoint:filepath=../w-{epoch}.safetensors: filepath \"../w-{epoch}.safetensors\" has a \"..\" part"),
                      outside.error)

        let config = try write(Self.stopping)
        _ = try train(1, ["--config", config, "--data-dir", data, "--run-dir", runDirectory, "--max-steps", "3"])
        let changed = try runUnderMPI(2, ["train", "--data-dir", data, "--run-dir", runDirectory, "--threads", "1", "--resume",
                                          "--callback", "early_stopping:patience=4"])
        XCTAssertNotEqual(changed.status, 0)
        XCTAssertTrue(changed.error.contains("holds the state of other callbacks"), changed.error)
        // A checkpoint without callback state resumes with fresh callbacks.
        let plain = try makeTemporaryDirectory(self)
        _ = try train(1, ["--data-dir", data, "--run-dir", plain, "--max-steps", "3", "--validation-split", "0.2", "--epochs", "2"])
        let added = try train(1, ["--data-dir", data, "--run-dir", plain, "--resume", "--callback", "early_stopping:monitor=val_loss"])
        XCTAssertTrue(added.output.contains("callbacks start fresh"), added.output)
    }
}
