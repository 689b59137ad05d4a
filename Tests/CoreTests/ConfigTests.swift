import ConvNetConfig
import ConvNetCore
import TestSupport
import XCTest

final class ConfigTests: XCTestCase {
    func testReferenceConfigFileIsTheReferenceRecipe() throws {
        let config = try ExperimentConfig.load(path: SharedData.packageRoot.appendingPathComponent("configs/mnist.toml").path)
        XCTAssertEqual(config, .reference)
        XCTAssertEqual(try Sequential(config.model).parameterCount, 93_322)
        XCTAssertEqual(config.batchSize, 64)
        XCTAssertEqual(config.epochs, 5)
        XCTAssertEqual(config.optimizer, .rmsprop(learningRate: 0.001, rho: 0.9, epsilon: 1e-7))
    }

    func testEveryShippedConfigLoads() throws {
        let folder = SharedData.packageRoot.appendingPathComponent("configs")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".toml") }
        XCTAssertFalse(files.isEmpty)
        for file in files { XCTAssertNoThrow(try ExperimentConfig.load(path: folder.appendingPathComponent(file).path), file) }
    }

    func testResolvedConfigRoundTrips() throws {
        var config = ExperimentConfig.reference
        config.optimizer = .adam(learningRate: 0.0005, beta1: 0.8, beta2: 0.99, epsilon: 1e-6)
        config.model.layers[0] = .conv2d(filters: 8, kernelSize: (3, 5), activation: .linear)
        config.seed = 99
        config.shuffle = false
        XCTAssertEqual(try ExperimentConfig.parse(toml: config.tomlText), config)
    }

    private func error(_ text: String) -> String {
        do {
            _ = try ExperimentConfig.parse(toml: text)
            return "accepted"
        } catch { return "\(error)" }
    }

    private let model = """
        [model]
        input_shape = [28, 28, 1]
        classes = 10
        [[model.layers]]
        type = "flatten"
        [[model.layers]]
        type = "dense"
        units = 10
        activation = "softmax"

        """

    func testMinimalConfigUsesDefaults() throws {
        let config = try ExperimentConfig.parse(toml: model)
        XCTAssertEqual(config.batchSize, 64)
        XCTAssertEqual(config.optimizer.name, "rmsprop")
    }

    func testUnknownKeysAreNamed() {
        XCTAssertTrue(error(model + "[training]\nepoch = 3\n").contains("unknown key training.epoch"))
        XCTAssertTrue(error(model + "[optimizer]\nname = \"sgd\"\nrho = 0.9\n").contains("unknown key optimizer.rho"))
        XCTAssertTrue(error(model + "[extra]\n").contains("unknown key extra"))
        XCTAssertTrue(error(model.replacingOccurrences(of: "units = 10", with: "units = 10\nfilters = 3"))
            .contains("unknown key model.layers[1].filters"))
    }

    func testInvalidValuesAreNamed() {
        XCTAssertTrue(error(model + "[training]\nbatch_size = 0\n").contains("training.batch_size must be at least 1"))
        XCTAssertTrue(error(model + "[training]\nepochs = \"five\"\n").contains("training.epochs must be an integer"))
        XCTAssertTrue(error(model + "[optimizer]\nlearning_rate = -1\n").contains("optimizer.learning_rate must be a positive number"))
        XCTAssertTrue(error(model + "[optimizer]\nname = \"lamb\"\n").contains("unknown optimizer \"lamb\""))
        XCTAssertTrue(error(model.replacingOccurrences(of: "\"flatten\"", with: "\"flattn\"")).contains("model.layers[0].type: unknown layer type"))
        XCTAssertTrue(error(model.replacingOccurrences(of: "\"softmax\"", with: "\"tanh\"")).contains("model.layers[1].activation: unknown activation"))
        XCTAssertTrue(error(model.replacingOccurrences(of: "[28, 28, 1]", with: "[28, 28]")).contains("model.input_shape must be an array of 3 integers"))
        XCTAssertTrue(error("[model\n").contains("invalid TOML at line 1"))
        XCTAssertTrue(error("[training]\nepochs = 1\n").contains("missing [model] section"))
    }
}
