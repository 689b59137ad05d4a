import ConvNetConfig
import ConvNetCore
import Foundation
import SafeTensors
import TestSupport
import XCTest

/// Every layer kind, activation, loss, regulariser and schedule against values Keras 3 computed
/// (`Tests/python/make_keras_goldens.py` writes `Tests/Goldens/*.safetensors`; `Tests/Goldens/README.md`
/// names every tensor). Each case's metadata holds the layer's config table in our syntax, so the
/// same parser a user's config goes through builds the layer here.
///
/// Tolerances: outputs within 1e-5 of Keras (relative to the tensor's largest magnitude when that
/// exceeds 1), gradients within 1e-4 of the tensor's largest magnitude.
final class KerasLayerGoldenTests: XCTestCase {
    private func golden(_ name: String) throws -> SafeTensors.File {
        try SafeTensors.read(path: SharedData.packageRoot.appendingPathComponent("Tests/Goldens/\(name).safetensors").path)
    }

    private func cases(_ file: SafeTensors.File) throws -> [String] {
        try JSONDecoder().decode([String].self, from: Data(try XCTUnwrap(file.metadata["cases"]).utf8))
    }

    private func values(_ file: SafeTensors.File, _ name: String) throws -> [Float] {
        try XCTUnwrap(file.tensors[name], "golden file lacks \(name)").values
    }

    private func assertMatches(_ ours: [Float], _ keras: [Float], tolerance: Float, _ what: String,
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(ours.count, keras.count, what, file: file, line: line)
        guard ours.count == keras.count else { return }
        let scale = max(1, maxMagnitude(keras))
        XCTAssertLessThanOrEqual(maxAbsoluteDifference(ours, keras), tolerance * scale, what, file: file, line: line)
    }

    func testEveryLayerCaseMatchesKeras() throws {
        let file = try golden("layers")
        let names = try cases(file)
        XCTAssertGreaterThanOrEqual(names.count, 45)
        var kindsSeen = Set<String>(), activationsSeen = Set<String>()
        for name in names {
            let meta = file.metadata
            let described = try ExperimentConfig.layer(toml: try XCTUnwrap(meta[name]))
            let shape = try JSONDecoder().decode([Int].self, from: Data(try XCTUnwrap(meta["\(name).input_shape"]).utf8))
            let training = meta["\(name).training"] == "true"
            let layer = try described.bound(to: TensorShape(shape))
            kindsSeen.insert(layer.typeName)
            if let activation = layer as? ActivationLayer { activationsSeen.insert(activation.activation.rawValue) }

            let x = try values(file, "\(name).x"), dy = try values(file, "\(name).dy")
            let batch = x.count / layer.inputShape.count
            let parameters = try layer.parameters.flatMap { try values(file, "\(name).param.\($0.name)") }
            let state = try layer.stateTensors.flatMap { try values(file, "\(name).param.\($0.name)") }
            let harness = LayerHarness(layer, parameters: parameters, state: state, training: training)
            let result = harness.run(x, batch: batch, dy: dy)
            assertMatches(result.y, try values(file, "\(name).y"), tolerance: 1e-5, "\(name) output")
            assertMatches(result.dx, try values(file, "\(name).dx"), tolerance: 1e-4, "\(name) input gradient")
            var offset = 0
            for tensor in layer.parameters {
                let ours = result.parameterGradients[offset..<(offset + tensor.count)].map { Float($0) }
                assertMatches(ours, try values(file, "\(name).grad.\(tensor.name)"), tolerance: 1e-4, "\(name) gradient of \(tensor.name)")
                offset += tensor.count
            }
            if training && !layer.stateTensors.isEmpty {
                let after = harness.stateAfterTraining(on: x, batch: batch)
                let expected = try layer.stateTensors.flatMap { try values(file, "\(name).after.\($0.name)") }
                assertMatches(after, expected, tolerance: 1e-6, "\(name) moving statistics after one step")
            }
            if let penalty = file.tensors["\(name).penalty"] {
                let regularizer = try XCTUnwrap(layer.parameters.compactMap(\.regularizer).first)
                let kernel = Array(parameters.prefix(layer.parameters[0].count))
                XCTAssertEqual(Float(regularizer.penalty(kernel, count: kernel.count)), penalty.values[0],
                               accuracy: 1e-5 * max(1, penalty.values[0]), "\(name) penalty")
                var gradient = [Float](repeating: 0, count: kernel.count)
                regularizer.addGradient(kernel, count: kernel.count, to: &gradient)
                assertMatches(gradient, try values(file, "\(name).grad_penalty.kernel"), tolerance: 1e-5, "\(name) penalty gradient")
            }
        }
        // Merging layers (several inputs) have their cases in graphs.safetensors (GraphRunnerTests),
        // preprocessing layers in preprocessing.safetensors (PreprocessingGoldenTests).
        let merging = LayerRegistry.kinds.filter { $0 is any MergingLayer.Type }.map { $0.typeName }
        XCTAssertEqual(kindsSeen, Set(LayerRegistry.kinds.map { $0.typeName }).subtracting(["dropout"] + merging)
                           .subtracting(PreprocessingGoldenTests.kinds),
                       "every registered layer but dropout has a Keras golden case")
        XCTAssertEqual(activationsSeen, Set(Activation.allCases.map(\.rawValue)), "every activation has a Keras golden case")
    }

    func testEveryLossMatchesKeras() throws {
        let file = try golden("losses")
        var lossesSeen = Set<String>()
        for name in try cases(file) {
            let loss = try ExperimentConfig.loss(toml: try XCTUnwrap(file.metadata[name]))
            lossesSeen.insert(loss.name)
            let labels = try values(file, "\(name).labels").map { Int($0) }
            let yPred = try values(file, "\(name).y_pred")
            let classes = yPred.count / labels.count
            var losses: [Float] = [], gradient = [Float](repeating: 0, count: yPred.count)
            for (n, label) in labels.enumerated() {
                losses.append(Float(yPred.withUnsafeBufferPointer { p in
                    gradient.withUnsafeMutableBufferPointer { g in
                        loss.sampleLoss(output: p.baseAddress! + n * classes, label: label, classes: classes, fused: false,
                                        gradient: g.baseAddress! + n * classes)
                    }
                }))
            }
            assertMatches(losses, try values(file, "\(name).loss"), tolerance: 1e-5, "\(name) loss")
            assertMatches(gradient, try values(file, "\(name).grad"), tolerance: 1e-4, "\(name) gradient")

            // Through the softmax: the fused cross-entropy path, or the loss's gradient through softmax's Jacobian.
            guard let logitGradient = file.tensors["\(name).grad_logits"]?.values else { continue }
            var throughSoftmax = gradient
            let fused = loss.fusesSoftmax(outputActivation: .softmax)
            for (n, label) in labels.enumerated() where fused {
                _ = yPred.withUnsafeBufferPointer { p in
                    throughSoftmax.withUnsafeMutableBufferPointer { g in
                        loss.sampleLoss(output: p.baseAddress! + n * classes, label: label, classes: classes, fused: true,
                                        gradient: g.baseAddress! + n * classes)
                    }
                }
            }
            if !fused { Activation.softmax.backward(x: nil, y: yPred, dy: &throughSoftmax, count: yPred.count, width: classes) }
            // Keras's clip stops the gradient of a probability below 1e-7; the fused path, like Keras's own
            // logits path in a real model, does not clip, so samples with a clipped probability differ by design.
            let unclipped = labels.indices.filter { n in (0..<classes).allSatisfy { yPred[n * classes + $0] > LossMath.epsilon } }
            XCTAssertGreaterThanOrEqual(unclipped.count, labels.count - 2, name)
            let pick = { (v: [Float]) in unclipped.flatMap { v[($0 * classes)..<(($0 + 1) * classes)] } }
            assertMatches(pick(throughSoftmax), pick(logitGradient), tolerance: 1e-4, "\(name) gradient with respect to the logits")
        }
        XCTAssertEqual(lossesSeen, Set(LossRegistry.kinds.map { $0.name }), "every registered loss has a Keras golden case")
    }

    func testEveryScheduleMatchesKeras() throws {
        let file = try golden("schedules")
        var seen = Set<String>()
        for name in try cases(file) {
            let schedule = try ExperimentConfig.schedule(toml: try XCTUnwrap(file.metadata[name]))
            seen.insert(schedule.name)
            let initial = try XCTUnwrap(Float(try XCTUnwrap(file.metadata["\(name).initial_learning_rate"])))
            let steps = try values(file, "\(name).steps"), expected = try values(file, "\(name).lr")
            for (step, keras) in zip(steps, expected) {
                let ours = schedule.learningRate(initial: initial, iterations: Int(step))
                XCTAssertEqual(ours, keras, accuracy: 2e-6 * keras, "\(name) at step \(Int(step))")
            }
        }
        XCTAssertEqual(seen.count, ScheduleRegistry.kinds.count, "every schedule has a Keras golden case")
    }

    /// Dropout's masks cannot match Keras's generator; its rule can: kept values are scaled by
    /// `1 / (1 - rate)`, about `1 - rate` of them are kept, the mask depends on the sample's identity
    /// and the step only, and evaluation is the identity.
    func testDropoutScalingRuleKeepRateAndDeterminism() {
        let layer = Dropout(rate: 0.3).boundForTest([50, 40])
        let x = [Float](repeating: 2, count: 4 * 2000)
        var harness = LayerHarness(layer, parameters: [], training: true)
        harness.sampleIDs = [7, 8, 9, 10]
        let y = harness.run(x, batch: 4).y
        let kept = y.filter { $0 != 0 }
        XCTAssertTrue(kept.allSatisfy { $0 == 2 / (1 - Float(0.3)) })
        XCTAssertEqual(Double(kept.count) / Double(y.count), 0.7, accuracy: 0.02)
        // The same sample alone, in another batch position, draws the same mask.
        var alone = harness
        alone.sampleIDs = [9]
        XCTAssertEqual(harness.run(Array(x[0..<2000]), batch: 1).y.count, 2000)
        XCTAssertEqual(alone.run(Array(x[0..<2000]), batch: 1).y, Array(y[4000..<6000]))
        var nextStep = harness
        nextStep.globalStep = 1
        XCTAssertNotEqual(nextStep.run(x, batch: 4).y, y)
        harness.training = false
        XCTAssertEqual(harness.run(x, batch: 4).y, x)
    }
}
