import ConvNetConfig
import ConvNetCore
import Foundation
import ModelExport
import TestSupport
import XCTest

/// The preprocessing and augmentation layers: configs and their one-line errors, inference against
/// training, draws that follow the sample and not the batch's split, backward passes that are the
/// forward's adjoint, and exports. (Keras's values: PreprocessingGoldenTests.)
final class PreprocessingLayerTests: XCTestCase {
    private func layer(_ body: String, _ shape: [Int]) throws -> any Layer {
        try ExperimentConfig.layer(toml: body).bound(to: TensorShape(shape))
    }

    private func randoms(_ count: Int, seed: UInt64) -> [Float] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { _ in generator.nextUnitFloat() * 4 - 2 }
    }

    private static let bodies = [
        "type = \"rescaling\"\nscale = 0.5\noffset = -1.0",
        "type = \"normalization\"\nmean = [0.5, -1.0]\nvariance = [4.0, 0.25]",
        "type = \"normalization\"\nmean = 1.0\nvariance = 2.0",
        "type = \"zero_padding2d\"\npadding = 2",
        "type = \"zero_padding2d\"\npadding = [1, 3]",
        "type = \"zero_padding2d\"\npadding = [[1, 0], [2, 3]]",
        "type = \"random_flip\"\nmode = \"horizontal\"",
        "type = \"random_flip\"\nmode = \"vertical\"",
        "type = \"random_flip\"",
        "type = \"random_crop\"\nheight = 3\nwidth = 4",
        "type = \"random_translation\"\nheight_factor = 0.4\nwidth_factor = [-0.2, 0.5]\nfill_mode = \"reflect\"",
        "type = \"random_translation\"\nheight_factor = 0.5\nwidth_factor = 0.3\nfill_mode = \"wrap\"",
        "type = \"random_translation\"\nheight_factor = 0.5\nwidth_factor = 0.3\nfill_mode = \"constant\"\nfill_value = 0.5",
        "type = \"random_translation\"\nheight_factor = 0.5\nwidth_factor = 0.3\nfill_mode = \"nearest\"",
    ]

    func testConfigsRoundTrip() throws {
        for body in Self.bodies {
            let described = try ExperimentConfig.layer(toml: body)
            let written = LayerRegistry.config(of: described)
            let again = try LayerRegistry.layer(from: ConfigTable(written, path: "layer"))
            XCTAssertEqual(LayerRegistry.config(of: again), written, body)
        }
        XCTAssertEqual(LayerRegistry.config(of: try ExperimentConfig.layer(toml: "type = \"random_flip\"")).last,
                       ConfigEntry("mode", .string("horizontal_and_vertical")), "Keras's default mode")
        let translation = try ExperimentConfig.layer(toml: "type = \"random_translation\"\nheight_factor = 0.1\nwidth_factor = 0.2")
        XCTAssertEqual(LayerRegistry.config(of: translation).map(\.key),
                       ["type", "height_factor", "width_factor", "fill_mode", "fill_value", "interpolation"])
        XCTAssertEqual((translation as? RandomTranslation)?.fillMode, .reflect, "Keras's default fill_mode")
    }

    func testBadConfigsGiveOneLineErrorsNamingTheKey() throws {
        let cases: [(String, [Int], String)] = [
            ("type = \"rescaling\"", [4], "missing key"),
            ("type = \"random_translation\"\nheight_factor = 0.1\nwidth_factor = 0.1\ninterpolation = \"bilinear\"", [4, 4, 1],
             "interpolation: \"bilinear\" is not supported"),
            ("type = \"random_translation\"\nheight_factor = 1.5\nwidth_factor = 0.1", [4, 4, 1], "height_factor must be"),
            ("type = \"random_translation\"\nwidth_factor = 0.1", [4, 4, 1], "missing key"),
            ("type = \"random_translation\"\nheight_factor = 0.1\nwidth_factor = 0.1\nfill_mode = \"mirror\"", [4, 4, 1], "fill_mode"),
            ("type = \"random_flip\"\nmode = \"diagonal\"", [4, 4, 1], "mode"),
            ("type = \"random_crop\"\nheight = 5\nwidth = 2", [4, 4, 1], "does not fit"),
            ("type = \"random_crop\"\nheight = 2", [4, 4, 1], "missing key"),
            ("type = \"zero_padding2d\"\npadding = [1, 2, 3]", [4, 4, 1], "padding must be"),
            ("type = \"zero_padding2d\"\npadding = -1", [4, 4, 1], "padding must be"),
            ("type = \"normalization\"\nmean = [1.0, 2.0]\nvariance = 1.0", [4, 4, 3], "2 values of mean"),
            ("type = \"normalization\"\nmean = 1.0\nvariance = -1.0", [4], "variance must be"),
            ("type = \"normalization\"\nmean = 1.0", [4], "missing key"),
            ("type = \"random_flip\"", [4], "needs an image input"),
            ("type = \"random_translation\"\nheight_factor = 0.1\nwidth_factor = 0.1", [8, 8], "random_translation needs an image input"),
        ]
        for (body, shape, expected) in cases {
            XCTAssertThrowsError(try layer(body, shape), body) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(error)")
                XCTAssertFalse("\(error)".contains("\n"), "\(error)")
            }
        }
    }

    func testRandomLayersAreTheIdentityAtInferenceAndCropTakesTheCentre() throws {
        let x = randoms(2 * 5 * 6 * 2, seed: 3)
        for body in Self.bodies where body.contains("random_flip") || body.contains("random_translation") {
            let random = try layer(body, [5, 6, 2])
            XCTAssertEqual(LayerHarness(random, parameters: []).run(x, batch: 2).y, x, body)
            XCTAssertNotEqual(LayerHarness(random, parameters: [], training: true).run(x, batch: 2).y, x, body)
        }
        let crop = try layer("type = \"random_crop\"\nheight = 3\nwidth = 3", [5, 6, 2])
        let y = LayerHarness(crop, parameters: []).run(x, batch: 2).y
        for n in 0..<2 { for i in 0..<3 { for j in 0..<3 { for k in 0..<2 {
            XCTAssertEqual(y[((n * 3 + i) * 3 + j) * 2 + k], x[((n * 5 + i + 1) * 6 + j + 1) * 2 + k])
        } } } }
    }

    /// <forward(x), dy> = <x, backward(dy)> in training, the draws being the same in both passes.
    func testBackwardIsTheAdjointOfForward() throws {
        let shape = [5, 6, 2], batch = 6
        for body in Self.bodies + ["type = \"random_crop\"\nheight = 5\nwidth = 6"] {
            let described = try layer(body, shape)
            var harness = LayerHarness(described, parameters: [], training: true)
            harness.globalStep = 4
            let x = randoms(batch * described.inputShape.count, seed: 7)
            let dy = randoms(batch * described.outputShape.count, seed: 8)
            let result = harness.run(x, batch: batch, dy: dy)
            // Affine layers: <y - f(0), dy> is the linear part's.
            let offsetOnly = harness.run([Float](repeating: 0, count: x.count), batch: batch).y
            let left = zip(zip(result.y, offsetOnly), dy).reduce(0.0) { $0 + Double($1.0.0 - $1.0.1) * Double($1.1) }
            let right = zip(x, result.dx).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            XCTAssertEqual(left, right, accuracy: 1e-4 * max(1, abs(left)), body)
        }
    }

    /// The dropout rule: a sample's draw does not depend on the batch it is in, and changes with the step.
    func testDrawsFollowTheSampleNotTheBatch() throws {
        let shape = [6, 7, 1], batch = 64
        let x = randoms(batch * 42, seed: 9)
        for body in ["type = \"random_flip\"", "type = \"random_crop\"\nheight = 4\nwidth = 4",
                     "type = \"random_translation\"\nheight_factor = 0.5\nwidth_factor = 0.5\nfill_mode = \"constant\""] {
            let random = try layer(body, shape), out = random.outputShape.count
            var harness = LayerHarness(random, parameters: [], training: true)
            harness.sampleIDs = (0..<Int64(batch)).map { 1000 + 7 * $0 }
            let whole = harness.run(x, batch: batch).y
            var changed = 0
            for n in 0..<batch {
                var alone = harness
                alone.sampleIDs = [harness.sampleIDs[n]]
                XCTAssertEqual(alone.run(Array(x[(n * 42)..<((n + 1) * 42)]), batch: 1).y, Array(whole[(n * out)..<((n + 1) * out)]), body)
            }
            var later = harness
            later.globalStep = 1
            let next = later.run(x, batch: batch).y
            for n in 0..<batch where next[(n * out)..<((n + 1) * out)] != whole[(n * out)..<((n + 1) * out)] { changed += 1 }
            XCTAssertGreaterThan(changed, batch / 4, "\(body): the next step draws again")
        }
        let flip = try layer("type = \"random_flip\"", shape) as! RandomFlip
        let ids = (0..<Int64(4000)).map { $0 }
        let flipped = ids.withUnsafeBufferPointer { p in
            (0..<4000).filter { flip.flips($0, context: PassContext(training: true, seed: 5, sampleIDs: p.baseAddress!)) }.count
        }
        XCTAssertEqual(Double(flipped), 2000, accuracy: 150, "flips with probability 1/2")
        let translation = try layer("type = \"random_translation\"\nheight_factor = [-0.5, 0.0]\nwidth_factor = 0.3", [10, 10, 1]) as! RandomTranslation
        let shifts = ids.withUnsafeBufferPointer { p in
            (0..<4000).map { translation.shift($0, context: PassContext(training: true, seed: 5, sampleIDs: p.baseAddress!)) }
        }
        XCTAssertEqual(Set(shifts.map(\.rows)), Set(-5...0))
        XCTAssertEqual(Set(shifts.map(\.columns)), Set(-3...3))
    }

    func testExportsToONNXAndKeras() throws {
        let model = try Sequential(ModelSpec(inputShape: TensorShape([8, 8, 3]), classes: 2, layers: [
            Rescaling(scale: 1.0 / 255, offset: -0.5), RandomFlip(mode: .horizontal),
            RandomTranslation(heightFactor: (-0.1, 0.1), widthFactor: (-0.2, 0.2), fillMode: .constant),
            ZeroPadding2D(padding: ((1, 1), (2, 0))), RandomCrop(height: 8, width: 8),
            Normalization(mean: [0.1, 0.2, 0.3], variance: [1, 2, 3]), Flatten(), Dense(units: 2, activation: .softmax),
        ]))
        let onnx = try ONNXExport.serialized(model, parameters: [Float](repeating: 0.1, count: model.parameterCount), state: [])
        for op in ["Mul", "Add", "Pad", "Slice", "Sub", "Div"] { XCTAssertNotNil(onnx.range(of: Data(op.utf8)), op) }
        let script = try KerasScript.source(model: model, optimizer: .defaults(for: "sgd")!, loss: CategoricalCrossentropy(),
                                            checkpointPath: "c")
        for line in ["keras.layers.Rescaling(scale=0.003921569, offset=-0.5, name=\"rescaling_1\")",
                     "keras.layers.RandomFlip(mode=\"horizontal\", name=\"random_flip_1\")",
                     "keras.layers.RandomTranslation(height_factor=0.1, width_factor=0.2, fill_mode=\"constant\", fill_value=0.0, interpolation=\"nearest\", name=\"random_translation_1\")",
                     "keras.layers.ZeroPadding2D(padding=((1, 1), (2, 0)), name=\"zero_padding2d_1\")",
                     "keras.layers.RandomCrop(height=8, width=8, name=\"random_crop_1\")",
                     "keras.layers.Normalization(mean=(0.1, 0.2, 0.3), variance=(1.0, 2.0, 3.0), name=\"normalization_1\")"] {
            XCTAssertTrue(script.contains(line), "\(line)\n\(script)")
        }
    }
}

/// The runner on several threads and chunk sizes: a model with every random layer and dropout
/// computes the same gradient bits, and a later step draws anew.
final class AugmentationRunnerTests: XCTestCase {
    func testRandomLayersGiveTheSameGradientForAnyThreadsAndChunks() throws {
        let model = try Sequential(ModelSpec(inputShape: TensorShape([8, 8, 2]), classes: 3, layers: [
            Rescaling(scale: 2, offset: -1), RandomFlip(), RandomTranslation(heightFactor: (-0.3, 0.3), widthFactor: (-0.2, 0.4), fillMode: .reflect),
            ZeroPadding2D(padding: ((1, 1), (1, 1))), RandomCrop(height: 8, width: 8),
            Conv2D(filters: 3, kernelSize: (3, 3), activation: .relu), RandomFlip(mode: .vertical), Dropout(rate: 0.3),
            Flatten(), Dense(units: 3, activation: .softmax),
        ]))
        let parameters = FloatBuffer(count: model.parameterCount)
        Initialization.glorotUniform(model, seed: 3, into: parameters)
        var generator = SeededGenerator(seed: 12)
        let batch = 20, size = 128
        let images = (0..<(batch * size)).map { _ in generator.nextUnitFloat() }
        let fill: BatchFiller = { range, x, labels, ids in
            for (slot, n) in range.enumerated() {
                for i in 0..<size { x[slot * size + i] = images[n * size + i] }
                labels[slot] = Int32(n % 3)
                ids[slot] = Int64(500 + 3 * n)
            }
        }
        func gradient(threads: Int, chunkSize: Int, step: Int = 7) -> [UInt64] {
            let state = FloatBuffer(count: max(1, model.stateCount)), out = DoubleBuffer(count: model.parameterCount)
            _ = ModelRunner(model: model, maxBatch: batch, threads: threads, chunkSize: chunkSize)
                .gradients(batchSize: batch, parameters: parameters.pointer, state: state.pointer, globalStep: step, seed: 5,
                           into: out.pointer, fill: fill)
            return out.array.map(\.bitPattern)
        }
        let one = gradient(threads: 1, chunkSize: 64)
        for (threads, chunkSize) in [(1, 3), (2, 4), (3, 1), (4, 64)] {
            XCTAssertTrue(gradient(threads: threads, chunkSize: chunkSize) == one, "\(threads) threads, chunks of \(chunkSize): other gradient bits")
        }
        XCTAssertTrue(gradient(threads: 1, chunkSize: 64, step: 8) != one, "the next step draws new flips, shifts, crops and masks")
    }
}
