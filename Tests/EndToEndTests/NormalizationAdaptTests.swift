import Communication
import ConvNetConfig
import ConvNetCore
import ConvNetData
import Foundation
import SafeTensors
import TestSupport
import Training
import XCTest

/// `normalization` with `adapt = true`: the training set's statistics against Keras's `adapt`, the same
/// bytes on 1 and 2 ranks, kept as state in the model file, and the errors of a misplaced or mixed config.
final class NormalizationAdaptTests: XCTestCase {
    func testAdaptedStatisticsMatchKeras() throws {
        let file = try SafeTensors.read(path: SharedData.packageRoot.appendingPathComponent("Tests/Goldens/preprocessing.safetensors").path)
        let shape = try JSONDecoder().decode([Int].self, from: Data(try XCTUnwrap(file.metadata["normalization_adapt.shape"]).utf8))
        let pixels = try XCTUnwrap(file.tensors["normalization_adapt.pixels"]).values.map { UInt8($0) }
        let set = LabelledImages(pixels: pixels, labels: [UInt8](repeating: 0, count: shape[0]), height: shape[1], width: shape[2], channels: shape[3])
        let (mean, variance, count) = NormalizationAdapt.statistics(of: set, communicator: SingleProcessCommunicator())
        XCTAssertEqual(count, shape[0])
        for (ours, name) in [(mean, "mean"), (variance, "variance")] {
            let keras = try XCTUnwrap(file.tensors["normalization_adapt.\(name)"]).values
            let exact = try XCTUnwrap(file.tensors["normalization_adapt.exact_\(name)"]).values
            for k in 0..<shape[3] {
                XCTAssertEqual(Float(ours[k]), exact[k], accuracy: 1e-6 * exact[k], "\(name)[\(k)] against float64 NumPy")
                XCTAssertEqual(Float(ours[k]), keras[k], accuracy: 1e-4 * keras[k], "\(name)[\(k)] against Keras's adapt")
            }
        }
    }

    func testAdaptIsStateTheSameOnOneAndTwoRanks() throws {
        let data = try makeSmallMNIST(self, trainCount: 640, testCount: 100)
        let directory = try makeTemporaryDirectory(self)
        let config = """
            [model]
            input_shape = [28, 28, 1]
            classes = 10
            layers = [
              { type = "normalization", adapt = true },
              { type = "random_flip" },
              { type = "flatten" },
              { type = "dense", units = 10, activation = "softmax" },
            ]

            [training]
            epochs = 1
            batch_size = 32
            """
        try config.write(toFile: directory + "/adapt.toml", atomically: true, encoding: .utf8)
        var files: [Data] = []
        for ranks in [1, 2] {
            let runDirectory = directory + "/run\(ranks)"
            let result = try runUnderMPI(ranks, ["train", "--config", directory + "/adapt.toml", "--data-dir", data, "--run-dir", runDirectory,
                                                 "--max-steps", "5", "--quiet", "--threads", "1"])
            XCTAssertEqual(result.status, 0, result.error)
            files.append(try Data(contentsOf: URL(fileURLWithPath: runDirectory + "/model.safetensors")))
        }
        XCTAssertEqual(files[0], files[1], "1 and 2 ranks adapt and train the same bytes")
        let saved = try SafeTensors.decode(files[0])
        let mean = try XCTUnwrap(saved.tensors["normalization_1.mean"]).values[0]
        let variance = try XCTUnwrap(saved.tensors["normalization_1.variance"]).values[0]
        XCTAssertEqual(mean, 0.13, accuracy: 0.02, "MNIST's mean pixel")
        XCTAssertEqual(variance.squareRoot(), 0.31, accuracy: 0.03, "MNIST's pixel deviation")
        XCTAssertEqual(try XCTUnwrap(saved.tensors["normalization_1.count"]).values, [640])
    }

    func testAdaptConfigErrors() throws {
        XCTAssertThrowsError(try ExperimentConfig.layer(toml: "type = \"normalization\"\nadapt = true\nmean = 0.5")) {
            XCTAssertTrue("\($0)".contains("adapt = true computes mean and variance"), "\($0)")
        }
        let adapted = try ExperimentConfig.layer(toml: "type = \"normalization\"\nadapt = true").bound(to: TensorShape([4, 4, 3]))
        XCTAssertEqual(adapted.stateTensors.map(\.name), ["mean", "variance", "count"])
        XCTAssertEqual(LayerRegistry.config(of: adapted), [ConfigEntry("type", .string("normalization")), ConfigEntry("adapt", .bool(true))])
        let model = try Sequential(ModelSpec(inputShape: TensorShape([4, 4, 1]), classes: 2, layers: [
            Rescaling(scale: 2), Normalization(adapting: ()), Flatten(), Dense(units: 2, activation: .softmax)]))
        let set = LabelledImages(pixels: [UInt8](repeating: 7, count: 32), labels: [0, 1], height: 4, width: 4, channels: 1)
        XCTAssertThrowsError(try NormalizationAdapt.adapt(model, training: set, communicator: SingleProcessCommunicator(),
                                                          into: FloatBuffer(count: model.stateCount))) {
            XCTAssertTrue("\($0)".contains("layer 2 (normalization_1): normalization with adapt = true must be the model's first layer"), "\($0)")
        }
    }
}
