import ConvNetConfig
import ConvNetCore
import Foundation
import TestSupport
import XCTest

/// model_checkpoint saves at the same points and to the same file names as Keras's own
/// ModelCheckpoint on the same figures (`Tests/Goldens/checkpoint_names.json`, written by
/// `Tests/python/make_checkpoint_name_goldens.py`): after every `save_freq` steps (counted across
/// epochs) or every epoch, best-only or not, names formatted from `{epoch}`, `{batch}` and the figures.
final class CheckpointNameGoldenTests: XCTestCase {
    func testSavePointsAndNamesAreKeras() throws {
        let url = SharedData.packageRoot.appendingPathComponent("Tests/Goldens/checkpoint_names.json")
        let document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let steps = try XCTUnwrap(document["steps_per_epoch"] as? Int), epochs = try XCTUnwrap(document["epochs"] as? Int)
        let numbers = { (strings: [String]) in strings.map { Double($0)! } }
        let losses = numbers(document["step_losses"] as! [String]), accuracies = numbers(document["step_accuracies"] as! [String])
        let epochFigures = (document["epoch_figures"] as! [String: [String]]).mapValues(numbers)
        let cases = try XCTUnwrap(document["cases"] as? [[String: Any]])
        XCTAssertEqual(cases.count, 6)
        for golden in cases {
            let name = golden["name"] as! String
            var checkpoint = try XCTUnwrap(ExperimentConfig.callback(toml: "type = \"model_checkpoint\"\n" + (golden["config"] as! String)) as? ModelCheckpoint, name)
            var saved: [String] = []
            for epoch in 1...epochs {
                for batch in 1...steps {
                    let step = (epoch - 1) * steps + batch
                    let figures = ["loss": losses[step - 1], "accuracy": accuracies[step - 1]]
                    if checkpoint.stepEnded(globalStep: step, figures: figures) {
                        saved.append(checkpoint.filePath.name(epoch: epoch, batch: batch, figures: figures))
                    }
                }
                let figures = epochFigures.mapValues { $0[epoch - 1] }
                var actions = CallbackActions()
                checkpoint.epochEnded(epoch - 1, value: figures[checkpoint.monitor.figure]!, actions: &actions)
                if actions.save { saved.append(checkpoint.filePath.name(epoch: epoch, batch: nil, figures: figures)) }
            }
            XCTAssertEqual(saved, golden["saved"] as! [String], name)
        }
    }
}
