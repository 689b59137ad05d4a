import ConvNetConfig
import ConvNetCore
import Foundation
import ModelExport
import TestSupport
import XCTest

/// `upsampling2d`: copies forward and block sums backward, bit for bit against direct loops; its config;
/// both exports. (Keras's values: the `upsampling2d_*` cases of KerasLayerGoldenTests; onnxruntime's:
/// Tests/python/test_model_export.py.)
final class UpSampling2DTests: XCTestCase {
    func testCopiesForwardAndSumsBlocksBackward() {
        let (h, w, c, batch, sh, sw) = (3, 2, 2, 2, 2, 3)
        let layer = UpSampling2D(size: (sh, sw)).boundForTest([h, w, c])
        XCTAssertEqual(layer.outputShape, TensorShape([6, 6, 2]))
        var generator = SeededGenerator(seed: 5)
        let x = (0..<(batch * h * w * c)).map { _ in generator.nextUnitFloat() - 0.5 }
        let dy = (0..<(batch * layer.outputShape.count)).map { _ in generator.nextUnitFloat() - 0.5 }
        let result = LayerHarness(layer, parameters: []).run(x, batch: batch, dy: dy)
        var dx = [Float](repeating: 0, count: x.count)
        for n in 0..<batch { for i in 0..<(h * sh) { for j in 0..<(w * sw) { for k in 0..<c {
            let from = ((n * h + i / sh) * w + j / sw) * c + k, to = ((n * h * sh + i) * w * sw + j) * c + k
            XCTAssertEqual(result.y[to], x[from])
            dx[from] += dy[to]
        } } } }
        XCTAssertEqual(result.dx, dx)
    }

    func testConfigRoundTripsAndBadInputsAreRefused() throws {
        let layer = try ExperimentConfig.layer(toml: "type = \"upsampling2d\"\nsize = [2, 3]")
        XCTAssertEqual(LayerRegistry.config(of: layer), [ConfigEntry("type", .string("upsampling2d")), ConfigEntry("size", .pair((2, 3)))])
        XCTAssertEqual(LayerRegistry.config(of: try ExperimentConfig.layer(toml: "type = \"upsampling2d\"")).last,
                       ConfigEntry("size", .pair((2, 2))))
        XCTAssertThrowsError(try ExperimentConfig.layer(toml: "type = \"upsampling2d\"\nsize = 0"))
        XCTAssertThrowsError(try UpSampling2D().bound(to: TensorShape([4]))) {
            XCTAssertEqual("\($0)", "upsampling2d needs an image input [height, width, channels], got (None, 4)")
        }
    }

    func testExportsToONNXAndKeras() throws {
        let model = try Sequential(ModelSpec(inputShape: TensorShape([4, 4, 1]), classes: 2,
                                             layers: [UpSampling2D(size: (2, 3)), Flatten(), Dense(units: 2, activation: .softmax)]))
        let onnx = try ONNXExport.serialized(model, parameters: [Float](repeating: 0.1, count: model.parameterCount), state: [])
        XCTAssertNotNil(onnx.range(of: Data("Resize".utf8)))
        let script = try KerasScript.source(model: model, optimizer: .defaults(for: "sgd")!, loss: CategoricalCrossentropy(),
                                            checkpointPath: "c")
        XCTAssertTrue(script.contains("keras.layers.UpSampling2D(size=(2, 3), name=\"up_sampling2d_1\")"), script)
    }
}
