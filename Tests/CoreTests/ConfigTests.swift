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
        XCTAssertEqual(config.optimizer, OptimizerSpec.defaults(for: "rmsprop"))
        XCTAssertEqual(config.optimizer.config, [ConfigEntry("learning_rate", .number(0.001)), ConfigEntry("rho", .number(0.9)),
                                                 ConfigEntry("epsilon", .number(1e-7))])
    }

    func testEveryShippedConfigLoads() throws {
        let folder = SharedData.packageRoot.appendingPathComponent("configs")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".toml") }
        XCTAssertFalse(files.isEmpty)
        for file in files { XCTAssertNoThrow(try ExperimentConfig.load(path: folder.appendingPathComponent(file).path), file) }
    }

    func testResolvedConfigRoundTrips() throws {
        var config = ExperimentConfig.reference
        let adam = Adam(parameterCount: 0)
        (adam.learningRate, adam.beta1, adam.beta2, adam.epsilon) = (0.0005, 0.8, 0.99, 1e-6)
        config.optimizer = OptimizerSpec(adam)
        config.model.layers[0] = Conv2D(filters: 8, kernelSize: (3, 5), strides: (2, 1), padding: .same, activation: .gelu,
                                        useBias: false, kernelRegularizer: Regularizer(l1: 0.001, l2: 0.0001))
        config.model.layers.insert(BatchNorm(momentum: 0.9, epsilon: 1e-5, center: false), at: 1)
        config.model.layers.insert(Dropout(rate: 0.25), at: 2)
        config.model.layers[3] = AvgPool2D(window: PoolWindow(size: (2, 3), strides: (1, 2), padding: .same))
        config.loss = CategoricalCrossentropy(labelSmoothing: 0.1)
        config.schedule = CosineDecay(decaySteps: 1000, alpha: 0.1, warmupTarget: 0.01, warmupSteps: 100)
        config.clipnorm = 1.5
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
        XCTAssertTrue(error(model.replacingOccurrences(of: "\"softmax\"", with: "\"tanhh\"")).contains("model.layers[1].activation: unknown activation"))
        XCTAssertTrue(error(model.replacingOccurrences(of: "\"softmax\"", with: "\"tanh\"")).contains("categorical_crossentropy needs probabilities"))
        XCTAssertTrue(error(model + "[loss]\nfrom_logits = true\n").contains("loss.from_logits = true, but the last layer applies softmax"))
        XCTAssertTrue(error(model + "[loss]\nname = \"hinge\"\n").contains("loss.name: unknown loss \"hinge\""))
        XCTAssertTrue(error(model + "[loss]\nname = \"mean_squared_error\"\nlabel_smoothing = 0.1\n").contains("unknown key loss.label_smoothing"))
        XCTAssertTrue(error(model + "[optimizer.schedule]\nname = \"exponential_decay\"\n").contains("missing key optimizer.schedule.decay_steps"))
        XCTAssertTrue(error(model + "[optimizer.schedule]\nname = \"piecewise_constant\"\nboundaries = [10]\nvalues = [0.1]\n")
            .contains("optimizer.schedule.values must hold one positive rate more than boundaries"))
        XCTAssertTrue(error(model + "[optimizer]\nclipnorm = 0\n").contains("optimizer.clipnorm must be a positive number"))
        XCTAssertTrue(error(model.replacingOccurrences(of: "type = \"flatten\"", with: "type = \"dropout\"\nrate = 1.0"))
            .contains("model.layers[0].rate must be in [0.0, 1.0), got 1.0"))
        XCTAssertTrue(error(model.replacingOccurrences(of: "type = \"flatten\"", with: "type = \"maxpool2d\"\npool_size = 40"))
            .contains("layer 1 (maxpool2d): pool_size: window 40x40 is larger than its input"))
        XCTAssertTrue(error(model.replacingOccurrences(of: "type = \"flatten\"", with: "type = \"conv2d\"\nfilters = 2\nkernel_size = 3\npadding = \"full\""))
            .contains("model.layers[0].padding: unknown value \"full\" (expected valid, same)"))
        XCTAssertTrue(error(model.replacingOccurrences(of: "[28, 28, 1]", with: "[28, 28]")).contains("model.input_shape must be an array of 3 integers"))
        XCTAssertTrue(error("[model\n").contains("invalid TOML at line 1"))
        // A NUL byte used to end the text for toml++, dropping the [optimizer] section after it unnoticed.
        XCTAssertTrue(error(model + "# a comment \u{0} here\n[optimizer]\nname = \"sgd\"\n").contains(
                       "invalid TOML at line \(model.split(separator: "\n", omittingEmptySubsequences: false).count): a NUL byte (TOML allows no control characters)"))
        // Found by tools/fuzz config: each used to trap (overflow, a Float conversion) or to write a
        // config.toml that does not read back.
        XCTAssertTrue(error(model.replacingOccurrences(of: "type = \"flatten\"", with: "type = \"conv2d\"\nfilters = 65536\nkernel_size = 1048576\npadding = \"same\""))
            .contains("model.layers[0].kernel_size values must be in [1, 4096], got 1048576"))
        XCTAssertTrue(error(model + "[data]\ndataset = \"a\\nb\"\n").contains("data.dataset must be a simple name"))
        for (boundaries, values) in [("[1e19]", "[0.1, 0.2]"), ("[10]", "[1e300, 0.2]"), ("[10]", "[1e-50, 0.2]")] {
            XCTAssertTrue(error(model + "[optimizer.schedule]\nname = \"piecewise_constant\"\nboundaries = \(boundaries)\nvalues = \(values)\n")
                .contains("optimizer.schedule."), "\(boundaries) \(values)")
        }
        XCTAssertTrue(error("[training]\nepochs = 1\n").contains("missing [model] section"))
    }
}
