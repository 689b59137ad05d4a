import ConvNetConfig
import ConvNetCore
import Foundation
import SafeTensors
import TestSupport
import XCTest

/// The preprocessing and augmentation layers against Keras 3 (`Tests/python/make_preprocessing_goldens.py`
/// writes `Tests/Goldens/preprocessing.safetensors`): rescaling, normalization and zero padding called
/// in inference, with their input gradients; for each random layer, Keras's transform of a given draw
/// (flip or not, a shift in pixels, a crop's corner) against ours for the same draw, bit for bit, and
/// its inference output.
final class PreprocessingGoldenTests: XCTestCase {
    /// The kinds whose Keras goldens are here rather than in layers.safetensors.
    static let kinds: Set<String> = ["rescaling", "normalization", "zero_padding2d", "random_flip", "random_translation", "random_crop"]

    private func values(_ file: SafeTensors.File, _ name: String) throws -> [Float] {
        try XCTUnwrap(file.tensors[name], "golden file lacks \(name)").values
    }

    /// `x` (one sample per `inputCount` floats) remapped by each sample's pixel map.
    private func remap(_ x: [Float], input: [Int], output: [Int], fill: Float,
                       source: (Int) -> (Int, Int) -> (row: Int, column: Int)?) -> [Float] {
        let (h, w, c) = (input[0], input[1], input[2]), (oh, ow) = (output[0], output[1])
        let batch = x.count / (h * w * c)
        var y: [Float] = []
        for n in 0..<batch {
            let map = source(n)
            for i in 0..<oh { for j in 0..<ow { for k in 0..<c {
                if let (row, column) = map(i, j) { y.append(x[((n * h + row) * w + column) * c + k]) } else { y.append(fill) }
            } } }
        }
        return y
    }

    func testEveryPreprocessingCaseMatchesKeras() throws {
        let file = try SafeTensors.read(path: SharedData.packageRoot.appendingPathComponent("Tests/Goldens/preprocessing.safetensors").path)
        let names = try JSONDecoder().decode([String].self, from: Data(try XCTUnwrap(file.metadata["cases"]).utf8))
        var kindsSeen = Set<String>()
        for name in names {
            let shape = try JSONDecoder().decode([Int].self, from: Data(try XCTUnwrap(file.metadata["\(name).input_shape"]).utf8))
            let layer = try ExperimentConfig.layer(toml: try XCTUnwrap(file.metadata[name])).bound(to: TensorShape(shape))
            kindsSeen.insert(layer.typeName)
            let x = try values(file, "\(name).x"), batch = x.count / layer.inputShape.count
            let keras = try values(file, "\(name).y")
            let inference = LayerHarness(layer, parameters: [])
            if let dy = file.tensors["\(name).dy"]?.values {
                let result = inference.run(x, batch: batch, dy: dy)
                let scale = max(1, maxMagnitude(keras))
                XCTAssertLessThanOrEqual(maxAbsoluteDifference(result.y, keras), 1e-6 * scale, "\(name) output")
                let kerasDx = try values(file, "\(name).dx")
                XCTAssertLessThanOrEqual(maxAbsoluteDifference(result.dx, kerasDx), 1e-5 * max(1, maxMagnitude(kerasDx)), "\(name) input gradient")
                continue
            }
            XCTAssertEqual(inference.run(x, batch: batch).y, keras, "\(name) at inference")
            let trained = try values(file, "\(name).y_train"), output = layer.outputShape.dimensions
            let ours: [Float]
            switch layer {
            case let flip as RandomFlip:
                let flips = try values(file, "\(name).flips")
                ours = remap(x, input: shape, output: output, fill: 0) { flip.source(flipped: flips[$0] != 0) }
            case let translation as RandomTranslation:
                let shifts = try values(file, "\(name).shifts")
                ours = remap(x, input: shape, output: output, fill: translation.fillValue) {
                    translation.source(rows: Int(shifts[2 * $0]), columns: Int(shifts[2 * $0 + 1]))
                }
            case is RandomCrop:
                let corners = try values(file, "\(name).corners")
                ours = remap(x, input: shape, output: output, fill: 0) { n in
                    { i, j in (Int(corners[2 * n]) + i, Int(corners[2 * n + 1]) + j) }
                }
            default:
                XCTFail("\(name): no rule for \(layer.typeName)")
                continue
            }
            XCTAssertEqual(ours, trained, "\(name): Keras's transform of the same draw")
        }
        XCTAssertEqual(kindsSeen, Self.kinds, "every preprocessing kind has a Keras golden case")
    }
}
