import ConvNetConfig
import ConvNetCore
import Foundation
import TestSupport
import Training
import XCTest

/// Our callbacks take the same decisions as Keras's on the same monitored values: the epoch where
/// early_stopping stops and whose weights it restores, the rate reduce_lr_on_plateau leaves after
/// each epoch, the epochs where model_checkpoint saves (`Tests/Goldens/callbacks.json`, written by
/// `Tests/python/make_callback_goldens.py` from Keras's own callbacks).
final class CallbackGoldenTests: XCTestCase {
    func testEveryCaseDecidesAsKeras() throws {
        let url = SharedData.packageRoot.appendingPathComponent("Tests/Goldens/callbacks.json")
        let document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let cases = try XCTUnwrap(document["cases"] as? [[String: Any]])
        XCTAssertGreaterThanOrEqual(cases.count, 30)
        for golden in cases {
            let name = golden["name"] as! String, values = (golden["values"] as! [String]).map { Double($0)! }
            var callback = try ExperimentConfig.callback(toml: "type = \"\(golden["type"] as! String)\"\n" + (golden["config"] as! String))
            let learningRate = Float((golden["learning_rate"] as? String).map { Double($0)! } ?? 0.1)
            var epochsRun = 0, saves: [Int] = [], rates: [Double] = [], kept: Int?
            var rate = learningRate
            for (epoch, value) in values.enumerated() {
                var actions = CallbackActions()
                if var plateau = callback as? ReduceLROnPlateau {
                    plateau.currentRate = rate
                    callback = plateau
                }
                callback.epochEnded(epoch, value: value, actions: &actions)
                epochsRun += 1
                if let plateau = callback as? ReduceLROnPlateau {
                    rate = plateau.effectiveRate(learningRate)
                    rates.append(Double(rate))
                }
                if actions.save { saves.append(epoch) }
                if actions.keepBestWeights { kept = epoch }
                if actions.stop { break }
            }
            XCTAssertEqual(epochsRun, golden["epochs_run"] as! Int, name)
            if let stopping = callback as? EarlyStopping {
                XCTAssertEqual(epochsRun < values.count ? stopping.stoppedEpoch : nil, golden["stopped_epoch"] as? Int, name)
                let restored = stopping.restoreBestWeights && stopping.holdsBestWeights ? stopping.bestEpoch : nil
                XCTAssertEqual(restored, golden["restored_epoch"] as? Int, name)
                XCTAssertEqual(restored, kept, "\(name): the last weights kept are the best epoch's")
            }
            if golden["rates"] != nil { XCTAssertEqual(rates, (golden["rates"] as! [String]).map { Double($0)! }, name) }
            if golden["saves"] != nil { XCTAssertEqual(saves, golden["saves"] as! [Int], name) }
        }
    }

    /// The rules Keras's callbacks compare by: float32 after the subtraction in Double.
    func testImprovementIsDecidedInFloat32AsKeras() throws {
        let monitor = try XCTUnwrap(ExperimentConfig.callback(toml: "type = \"early_stopping\"\nmin_delta = 1e-9").monitor)
        XCTAssertFalse(monitor.isImprovement(1.0 - 5e-9, over: 1.0), "1 - 5e-9 - 1e-9 rounds to 1.0 in float32")
        XCTAssertTrue(monitor.isImprovement(0.99, over: 1.0))
        XCTAssertTrue(monitor.isImprovement(.nan, over: nil), "nothing seen yet: Keras takes any value")
        XCTAssertFalse(monitor.isImprovement(.nan, over: 1.0))
    }

    /// The table and the flag read the same keys, every value reads back, and bad ones are errors.
    func testConfigFlagAndErrors() throws {
        let flag = try ExperimentConfig.callback(flag: "early_stopping:patience=5,monitor=val_accuracy,restore_best_weights=true,baseline=0.5")
        let table = try ExperimentConfig.callback(toml: "type = \"early_stopping\"\npatience = 5\nmonitor = \"val_accuracy\"\nrestore_best_weights = true\nbaseline = 0.5")
        XCTAssertTrue(CallbackRegistry.equal([flag], [table]))
        XCTAssertTrue((flag as! EarlyStopping).monitor.maximize)
        var config = ExperimentConfig.reference
        config.validationSplit = 0.1
        config.callbacks = [flag, try ExperimentConfig.callback(flag: "reduce_lr_on_plateau:factor=0.5,min_lr=1e-5,cooldown=2,mode=min"),
                            try ExperimentConfig.callback(flag: "model_checkpoint:monitor=test_loss,save_best_only=false")]
        XCTAssertEqual(try ExperimentConfig.parse(toml: config.tomlText), config)
        XCTAssertTrue(config.tomlText.contains("[[callbacks]]\ntype = \"reduce_lr_on_plateau\""))
        for (spec, message) in [("early_stop:patience=1", "unknown callback \"early_stop\""),
                                ("early_stopping:patiense=1", "unknown key patiense"),
                                ("early_stopping:patience=-1", "patience must be at least 0"),
                                ("early_stopping:monitor=val_los", "unknown value \"val_los\""),
                                ("early_stopping:mode=up", "unknown value \"up\""),
                                ("reduce_lr_on_plateau:factor=1.5", "factor must be above 0 and below 1"),
                                ("model_checkpoint:save_best_only=yes", "save_best_only must be true or false"),
                                ("early_stopping:patience", "is not KEY=VALUE")] {
            XCTAssertThrowsError(try ExperimentConfig.callback(flag: spec), spec) { error in
                XCTAssertTrue("\(error)".contains(message), "\(spec): \(error)")
                XCTAssertTrue("\(error)".hasPrefix("--callback \(spec): "), "\(spec): \(error)")
            }
        }
        var noSplit = ExperimentConfig.reference
        noSplit.callbacks = [try ExperimentConfig.callback(flag: "early_stopping")]
        XCTAssertThrowsError(try noSplit.validate()) { XCTAssertTrue("\($0)".contains("val_loss needs data.validation_split"), "\($0)") }
        noSplit.callbacks = [try ExperimentConfig.callback(flag: "early_stopping:monitor=loss"), try ExperimentConfig.callback(flag: "early_stopping:monitor=loss")]
        XCTAssertThrowsError(try noSplit.validate()) { XCTAssertTrue("\($0)".contains("a second early_stopping"), "\($0)") }
        noSplit.callbacks = [try ExperimentConfig.callback(flag: "model_checkpoint:monitor=test_accuracy")]
        XCTAssertNoThrow(try noSplit.requireFigures(hasTestSet: true, dataDirectory: "d"))
        XCTAssertThrowsError(try noSplit.requireFigures(hasTestSet: false, dataDirectory: "d")) { XCTAssertTrue("\($0)".contains("needs a test set"), "\($0)") }
    }

    /// With a schedule, the plateau multiplies it and clamps below by min_lr once it has acted.
    func testPlateauComposesWithASchedule() throws {
        var plateau = try XCTUnwrap(ExperimentConfig.callback(flag: "reduce_lr_on_plateau:patience=1,factor=0.5,min_lr=0.01,monitor=loss") as? ReduceLROnPlateau)
        plateau.scheduled = true
        XCTAssertEqual(plateau.effectiveRate(0.3), 0.3)
        var actions = CallbackActions()
        plateau.currentRate = 0.3
        plateau.epochEnded(0, value: 1, actions: &actions)
        plateau.epochEnded(1, value: 1, actions: &actions)
        XCTAssertTrue(actions.lowerRate)
        XCTAssertEqual(plateau.effectiveRate(0.3), 0.15)
        XCTAssertEqual(plateau.effectiveRate(0.001), 0.01, "min_lr is a floor under the scheduled rate times the factor")
        var restored = try XCTUnwrap(ExperimentConfig.callback(flag: "reduce_lr_on_plateau:patience=1,factor=0.5,min_lr=0.01,monitor=loss") as? ReduceLROnPlateau)
        restored.scheduled = true
        restored.state = plateau.state
        XCTAssertEqual(restored.effectiveRate(0.2), plateau.effectiveRate(0.2))
        XCTAssertEqual(restored.state, plateau.state)
    }
}

/// Callback state in a checkpoint: it reads back exactly (NaN for "none" included), and metadata
/// that does not fit the checkpoint's own callbacks is refused with a one-line error.
final class CallbackCheckpointTests: XCTestCase {
    func testStateRoundTripsAndBadStateIsRefused() throws {
        var config = ExperimentConfig.reference
        config.validationSplit = 0.1
        config.callbacks = [try ExperimentConfig.callback(flag: "early_stopping:restore_best_weights=true"),
                            try ExperimentConfig.callback(flag: "reduce_lr_on_plateau:factor=0.3")]
        let model = try Sequential(config.model)
        let weights = (0..<(model.parameterCount + model.stateCount)).map { Float($0 % 97) / 97 }
        var checkpoint = Checkpoint(config: config, position: .start, worldSize: 2, parameters: Array(weights.prefix(model.parameterCount)),
                                    state: Array(weights.dropFirst(model.parameterCount)), optimizerIterations: 0,
                                    optimizerState: ["rms": [Float](repeating: 0, count: model.parameterCount)])
        checkpoint.callbackState = Checkpoint.CallbackState(states: [[0.1 + 0.2, 3, 1, 0, 1], [.nan, 2, 0, Double(Float(0.003))]],
                                                            bestWeights: weights)
        let path = try makeTemporaryDirectory(self) + "/checkpoint.safetensors"
        try checkpoint.encoded(model: model).write(to: URL(fileURLWithPath: path))
        let loaded = try XCTUnwrap(Checkpoint.load(path: path).callbackState)
        XCTAssertEqual(loaded.bestWeights, weights)
        XCTAssertEqual(loaded.states[0], [0.1 + 0.2, 3, 1, 0, 1])
        XCTAssertTrue(loaded.states[1][0].isNaN)
        XCTAssertEqual(Array(loaded.states[1].dropFirst()), [2, 0, Double(Float(0.003))])

        checkpoint.callbackState?.states[1] = [1, 2]   // not a reduce_lr_on_plateau's state
        try checkpoint.encoded(model: model).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try Checkpoint.load(path: path)) {
            XCTAssertTrue("\($0)".contains("does not hold the state of its config's reduce_lr_on_plateau"), "\($0)")
        }
        checkpoint.callbackState = Checkpoint.CallbackState(states: [[0, 0, 0, 0, 1], [0, 0, 0, .nan]], bestWeights: Array(weights.dropLast()))
        try checkpoint.encoded(model: model).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try Checkpoint.load(path: path)) { XCTAssertTrue("\($0)".contains("callbacks.best_weights is not"), "\($0)") }

        // Counts that are not whole numbers from 0 (an edited checkpoint) are refused, never trapped on.
        for counts in [[Double.nan, 0, 0, 0], [1e300, 0, 0, 0], [-1, 0, 0, 0], [2.5, 0, 0, 0], [0, 0, 0, 7]] {
            checkpoint.callbackState = Checkpoint.CallbackState(states: [[0.5] + counts, [0, 0, 0, .nan]], bestWeights: weights)
            try checkpoint.encoded(model: model).write(to: URL(fileURLWithPath: path))
            if counts == [0, 0, 0, 7] { XCTAssertNoThrow(try Checkpoint.load(path: path)); continue }
            XCTAssertThrowsError(try Checkpoint.load(path: path), "\(counts)") {
                XCTAssertTrue("\($0)".contains("does not hold the state of its config's early_stopping"), "\($0)")
            }
        }
        checkpoint.callbackState = Checkpoint.CallbackState(states: [[0.5, 0, 0, 0, .infinity], [0, 0, 0, .nan]], bestWeights: weights)
        try checkpoint.encoded(model: model).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try Checkpoint.load(path: path))
        // Best weights held by early_stopping but missing from the file.
        checkpoint.callbackState = Checkpoint.CallbackState(states: [[0.5, 0, 0, 0, 1], [0, 0, 0, .nan]], bestWeights: nil)
        try checkpoint.encoded(model: model).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try Checkpoint.load(path: path)) {
            XCTAssertTrue("\($0)".contains("holds best weights but the tensor callbacks.best_weights is missing"), "\($0)")
        }
    }
}
