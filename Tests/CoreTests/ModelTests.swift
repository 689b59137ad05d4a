import ConvNetConfig
import ConvNetCore
import Foundation
import TestSupport
import XCTest

final class ModelTests: XCTestCase {
    func testReferenceModelHasKerasParameterCounts() throws {
        let model = try Sequential(.kerasMNIST)
        XCTAssertEqual(model.layers.map(\.parameterCount), [320, 0, 18496, 0, 36928, 0, 36928, 650])
        XCTAssertEqual(model.parameterCount, 93_322)
        XCTAssertEqual(model.layerNames, ["conv2d_1", "max_pooling2d_1", "conv2d_2", "max_pooling2d_2", "conv2d_3",
                                          "flatten_1", "dense_1", "dense_2"])
        XCTAssertEqual(model.layers.map(\.outputShape.dimensions),
                       [[26, 26, 32], [13, 13, 32], [11, 11, 64], [5, 5, 64], [3, 3, 64], [576], [64], [10]])
        XCTAssertEqual(model.parameterLayout.view(named: "conv2d_2.kernel")?.shape, [3, 3, 32, 64])
        XCTAssertEqual(model.parameterLayout.view(named: "dense_1.kernel")?.shape, [576, 64])
        let summary = model.summary()
        for expected in ["320", "18,496", "36,928", "650", "Total params: 93,322", "(None, 26, 26, 32)"] {
            XCTAssertTrue(summary.contains(expected), "summary lacks \(expected):\n\(summary)")
        }
    }

    func testGlorotUniformUsesKerasFansAndZeroBias() throws {
        let model = try Sequential(.kerasMNIST)
        XCTAssertTrue(Initialization.fans([3, 3, 32, 64]) == (288, 576))
        XCTAssertTrue(Initialization.fans([576, 64]) == (576, 64))
        let parameters = FloatBuffer(count: model.parameterCount)
        Initialization.glorotUniform(model, seed: 5, into: parameters)
        for view in model.parameterLayout.views {
            let values = Array(parameters.buffer[view.range])
            if view.name.hasSuffix(".bias") {
                XCTAssertTrue(values.allSatisfy { $0 == 0 }, view.name)
                continue
            }
            let (fanIn, fanOut) = Initialization.fans(view.shape)
            let limit = (6 / Float(fanIn + fanOut)).squareRoot()
            XCTAssertLessThanOrEqual(maxMagnitude(values), limit, view.name)
            XCTAssertGreaterThan(maxMagnitude(values), 0.9 * limit, view.name)
            // Uniform on [-limit, limit] has variance limit^2 / 3.
            let variance = values.reduce(0) { $0 + Double($1 * $1) } / Double(values.count)
            XCTAssertEqual(variance, Double(limit * limit) / 3, accuracy: 0.2 * Double(limit * limit) / 3, view.name)
        }
        let again = FloatBuffer(count: model.parameterCount)
        Initialization.glorotUniform(model, seed: 5, into: again)
        XCTAssertEqual(parameters.array, again.array)
    }

    func testInvalidModelsAreRejectedWithReasons() {
        func message(_ layers: [any Layer], classes: Int = 10) -> String {
            do {
                _ = try Sequential(ModelSpec(inputShape: TensorShape([28, 28, 1]), classes: classes, layers: layers))
                return "accepted"
            } catch { return "\(error)" }
        }
        XCTAssertTrue(message([Dense(units: 10, activation: .softmax)]).contains("flat input"))
        XCTAssertTrue(message([Conv2D(filters: 4, kernelSize: (30, 3), activation: .relu)]).contains("larger than its input"))
        XCTAssertTrue(message([Flatten(), Dense(units: 5, activation: .softmax)]).contains("classes = 10"))
        XCTAssertTrue(message([MaxPool2D(pool: 29)]).contains("layer 1 (maxpool2d): pool_size"))
        XCTAssertTrue(message([GlobalAvgPool2D(), Flatten(), Dense(units: 10)]).contains("needs an image input") == false)
        XCTAssertTrue(message([Flatten(), GlobalMaxPool2D()]).contains("layer 2 (global_maxpool2d): global_maxpool2d needs an image input"))
        XCTAssertTrue(message([Conv2D(filters: 4, kernelSize: (3, 3), strides: (40, 40))])
            .contains("the last layer's output is (None, 1, 1, 4), but the model needs (None, 10)"))
        XCTAssertTrue(message([Flatten(), BatchNorm(), Dense(units: 10)], classes: 300).contains("classes must be in 2...256"))
    }
}
