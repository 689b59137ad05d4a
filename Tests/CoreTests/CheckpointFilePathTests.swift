import ConvNetConfig
import ConvNetCore
import XCTest

/// model_checkpoint's `filepath` and `save_freq`: names formatted as Python's `str.format` formats
/// Keras's placeholders (the expected names are Python's output for the same values), names that
/// would leave the run folder or clash with its own files refused with one line naming the key, and
/// step saves every `save_freq` global steps.
final class CheckpointFilePathTests: XCTestCase {
    private func checkpoint(_ flag: String) throws -> ModelCheckpoint {
        try ExperimentConfig.callback(flag: "model_checkpoint:" + flag) as! ModelCheckpoint
    }

    func testNamesAreFormattedAsPython() throws {
        let weights = try checkpoint("filepath=weights-{epoch:02d}-{val_loss:.4f}.safetensors").filePath
        XCTAssertEqual(weights.name(epoch: 3, batch: nil, figures: ["val_loss": 0.12345]), "weights-03-0.1235.safetensors")
        let steps = try CheckpointFilePath("e{epoch}-b{batch:03d}-{loss:.3e}-{accuracy:g}-{loss}.safetensors", key: "k")
        XCTAssertEqual(steps.name(epoch: 12, batch: 7, figures: ["loss": 0.000123456, "accuracy": 0.975]),
                       "e12-b007-1.235e-04-0.975-0.000123456.safetensors")
        let odd = try CheckpointFilePath("{{x}}{epoch:5.1f}-{val_accuracy:08.3f}-{test_loss}.safetensors", key: "k")
        XCTAssertEqual(odd.name(epoch: 2, batch: nil, figures: ["val_accuracy": 0.5]), "{x}  2.0-0000.500-nan.safetensors")
        XCTAssertEqual(try CheckpointFilePath("epochs/{epoch:03d}/w.safetensors", key: "k").name(epoch: 4, batch: nil, figures: [:]),
                       "epochs/004/w.safetensors")
        XCTAssertEqual(odd.fields, ["epoch", "val_accuracy", "test_loss"])
        // Python: format(float('nan'), '08.4f') == '00000nan', format(float('-inf'), '07.2e') == '-000inf'.
        let diverged = try CheckpointFilePath("{loss:08.4f}_{val_loss:7.2e}_{accuracy:07.2e}_{val_accuracy:.3g}.safetensors", key: "k")
        XCTAssertEqual(diverged.name(epoch: 1, batch: nil, figures: ["loss": -Double.nan, "val_loss": .infinity, "accuracy": -.infinity,
                                                                      "val_accuracy": .nan]),
                       "00000nan_    inf_-000inf_nan.safetensors")
    }

    func testNamesOutsideTheRunFolderOrOnItsFilesAreRefused() throws {
        for (filepath, message) in [("../w.safetensors", "leaves the run folder"), ("a/../../w.safetensors", "leaves the run folder"),
                                    ("/tmp/w.safetensors", "an absolute path"), ("a//w.safetensors", "an empty folder name"),
                                    (".convnet-run.safetensors", "starts with a dot"), ("checkpoints/w.safetensors", "which the run manages"),
                                    ("tensorboard/w.safetensors", "which the run manages"), ("model.safetensors", "not be model.safetensors"),
                                    ("w-{epoch}.weights.h5", "must end in .safetensors"), ("w-{lr}.safetensors", "unknown placeholder {lr}"),
                                    ("w-{val_loss:02d}.safetensors", "not a supported format"), ("w-{epoch:.2d}.safetensors", "not a supported format"),
                                    ("w-{epoch:>4}.safetensors", "not a supported format"), ("w-{epoch.safetensors", "without its }"),
                                    ("w}.safetensors", "a single }"), ("w-{batch}.safetensors", "{batch} needs save_freq")] {
            XCTAssertThrowsError(try checkpoint("filepath=\"\(filepath)\""), filepath) { error in
                XCTAssertTrue("\(error)".contains(message), "\(filepath): \(error)")
                XCTAssertTrue("\(error)".contains("filepath"), "\(filepath): \(error)")
                XCTAssertFalse("\(error)".contains("\n"), "\(filepath): \(error)")
            }
        }
        for (flag, message) in [("save_freq=0", "save_freq must be \"epoch\" or a number of steps"),
                                ("save_freq=batch", "save_freq must be \"epoch\""),
                                ("save_freq=5", "val_loss is known only after an epoch"),
                                ("save_freq=5,monitor=loss,filepath=w-{val_accuracy}.safetensors", "{val_accuracy} is known only after an epoch")] {
            XCTAssertThrowsError(try checkpoint(flag), flag) { XCTAssertTrue("\($0)".contains(message), "\(flag): \($0)") }
        }
    }

    func testStepSavesEveryNStepsAndConfigReadsBack() throws {
        var every = try checkpoint("save_freq=3,save_best_only=false,filepath=s{batch}.safetensors")
        XCTAssertEqual((1...10).filter { every.stepEnded(globalStep: $0, figures: ["loss": 1]) }, [3, 6, 9])
        var actions = CallbackActions()
        every.epochEnded(0, value: 1, actions: &actions)
        XCTAssertFalse(actions.save, "a step save_freq never saves at an epoch's end")
        var best = try checkpoint("save_freq=2,monitor=accuracy")
        let accuracies = [0.5, 0.6, 0.7, 0.55, 0.9, 0.8]
        XCTAssertEqual(accuracies.indices.filter { best.stepEnded(globalStep: $0 + 1, figures: ["accuracy": accuracies[$0]]) }.map { $0 + 1 },
                       [2, 6], "steps 2, 4, 6 decide on 0.6, 0.55, 0.8; the others are not looked at")

        var config = ExperimentConfig.reference
        config.callbacks = [try checkpoint("save_freq=4,monitor=loss,filepath=\"e/{epoch:02d}-{loss:.3f}.safetensors\"")]
        XCTAssertEqual(try ExperimentConfig.parse(toml: config.tomlText), config)
        XCTAssertTrue(config.tomlText.contains("filepath = \"e/{epoch:02d}-{loss:.3f}.safetensors\"\nsave_freq = 4"), config.tomlText)
        config.callbacks = [try checkpoint("")]
        XCTAssertFalse(config.tomlText.contains("filepath"), "the default name is not written")
        // Per-epoch saves watch no figure, so they need no validation split; a named figure does.
        config.callbacks = [try checkpoint("save_best_only=false,filepath=w{epoch}.safetensors")]
        XCTAssertNoThrow(try config.validate())
        config.callbacks = [try checkpoint("save_best_only=false,filepath=w{val_accuracy}.safetensors")]
        XCTAssertThrowsError(try config.validate()) {
            XCTAssertTrue("\($0)".contains("callbacks[0].filepath: val_accuracy needs data.validation_split"), "\($0)")
        }
        config.callbacks = [try checkpoint("save_best_only=false,filepath=w{test_loss}.safetensors")]
        XCTAssertThrowsError(try config.requireFigures(hasTestSet: false, dataDirectory: "d")) {
            XCTAssertTrue("\($0)".contains("callbacks[0].filepath: test_loss needs a test set"), "\($0)")
        }
    }

    /// Several model_checkpoint callbacks may run side by side, each with its own file; a second
    /// early_stopping or reduce_lr_on_plateau, or two checkpoints on one file, are refused.
    func testSeveralCheckpointsEachWithItsOwnFile() throws {
        var config = ExperimentConfig.reference
        config.validationSplit = 0.1
        config.callbacks = [try checkpoint(""), try checkpoint("save_best_only=false,filepath=e/{epoch}.safetensors"),
                            try ExperimentConfig.callback(flag: "early_stopping")]
        XCTAssertNoThrow(try config.validate())
        XCTAssertEqual(try ExperimentConfig.parse(toml: config.tomlText), config)
        config.callbacks.append(try checkpoint("monitor=val_accuracy,filepath=e/{epoch}.safetensors"))
        XCTAssertThrowsError(try config.validate()) {
            XCTAssertEqual("\($0)", "callbacks[3].filepath: \"e/{epoch}.safetensors\" names the same files as callbacks[1]'s: "
                           + "give each model_checkpoint its own filepath")
        }
        // From epoch 10 on, {epoch:02d} and {epoch:d} write e/{epoch}'s files.
        for clash in ["e/{epoch:02d}.safetensors", "e/{epoch:d}.safetensors"] {
            config.callbacks[3] = try checkpoint("monitor=val_accuracy,filepath=" + clash)
            XCTAssertThrowsError(try config.validate(), clash) { XCTAssertTrue("\($0)".contains("names the same files as callbacks[1]'s"), "\($0)") }
        }
        config.callbacks[3] = try checkpoint("monitor=val_accuracy,filepath=e/{epoch:03d}-{val_accuracy:.2f}.safetensors")
        XCTAssertNoThrow(try config.validate())
        for kind in ["early_stopping", "reduce_lr_on_plateau"] {
            config.callbacks = [try ExperimentConfig.callback(flag: kind), try checkpoint(""), try ExperimentConfig.callback(flag: kind + ":patience=3")]
            XCTAssertThrowsError(try config.validate(), kind) { XCTAssertTrue("\($0)".hasPrefix("callbacks[2]: a second \(kind) callback"), "\($0)") }
        }
    }
}
