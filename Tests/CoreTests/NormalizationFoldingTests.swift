import ConvNetConfig
import ConvNetCore
import Foundation
import TestSupport
import XCTest

/// `NormalizationFolding`: an add that runs the batch norms among its inputs gives the bits of their
/// own passes: every step's gradients, the moving statistics and the evaluated outputs; it folds only
/// a batch norm that the add alone reads.
final class NormalizationFoldingTests: XCTestCase {
    private let batch = 10

    /// stem -> bn -> relu; an identity block whose bn is the add's second input; a projection block
    /// (both add inputs batch norms); a block whose bn also feeds a concatenate (not folded); pool, dense.
    private func blocksModel(fusePasses: Bool) throws -> Sequential {
        func conv(_ filters: Int, _ size: Int = 3, stride: Int = 1) -> Conv2D {
            Conv2D(filters: filters, kernelSize: (size, size), strides: (stride, stride), padding: .same, useBias: false)
        }
        let relu = ActivationLayer(.relu)
        let described: [(String, any Layer, [String]?)] = [
            ("stem", conv(4), nil), ("stem_bn", BatchNorm(), nil), ("stem_relu", relu, nil),
            ("b1_conv", conv(4), nil), ("b1_bn", BatchNorm(), nil), ("b1_add", Add(), ["stem_relu", "b1_bn"]), ("b1_out", relu, nil),
            ("b2_conv", conv(8, stride: 2), nil), ("b2_bn", BatchNorm(), nil),
            ("b2_proj", conv(8, 1, stride: 2), ["b1_out"]), ("b2_proj_bn", BatchNorm(momentum: 0.9), nil),
            ("b2_add", Add(), ["b2_bn", "b2_proj_bn"]), ("b2_out", relu, nil),
            ("b3_conv", conv(8), nil), ("b3_bn", BatchNorm(), nil), ("b3_add", Add(), ["b3_bn", "b2_out"]), ("b3_out", relu, nil),
            ("both", Concatenate(), ["b3_out", "b3_bn"]), ("pool", GlobalAvgPool2D(), nil), ("dense", Dense(units: 3, activation: .softmax), nil),
        ]
        return try Sequential(ModelSpec(inputShape: TensorShape([6, 6, 3]), classes: 3, layers: described.map(\.1),
                                        names: described.map(\.0), inputs: described.map(\.2)), fusePasses: fusePasses)
    }

    /// Every step's gradient sums (bit patterns), then parameters, state and evaluated outputs after
    /// `steps` plain SGD steps.
    private func train(_ model: Sequential, threads: Int, steps: Int)
        -> (gradients: [[UInt64]], parameters: [UInt32], state: [UInt32], outputs: [UInt32]) {
        let pixels = model.inputShape.count
        var generator = SeededGenerator(seed: 5)
        let images = (0..<(batch * pixels)).map { _ in 2 * generator.nextUnitFloat() - 1 }
        let fill = fixedBatchFiller(images, pixels: pixels, classes: model.classes)
        let parameters = FloatBuffer(count: model.parameterCount), state = FloatBuffer(count: model.stateCount)
        Initialization.glorotUniform(model, seed: 6, into: parameters)
        Initialization.initialState(model, into: state)
        let runner = ModelRunner(model: model, maxBatch: batch, threads: threads)
        let gradients = DoubleBuffer(count: model.parameterCount)
        var perStep: [[UInt64]] = []
        for step in 0..<steps {
            _ = runner.gradients(batchSize: batch, parameters: parameters.pointer, state: state.pointer,
                                 globalStep: step, seed: 3, into: gradients.pointer, fill: fill)
            perStep.append(gradients.array.map(\.bitPattern))
            for k in 0..<model.parameterCount { parameters.pointer[k] -= 0.2 * Float(gradients.pointer[k] / Double(batch)) }
        }
        let outputs = [Float](unsafeUninitializedCapacity: batch * model.classes) { buffer, count in
            _ = runner.evaluate(sampleCount: batch, parameters: parameters.pointer, state: state.pointer,
                                probabilities: buffer.baseAddress!, fill: fill)
            count = batch * model.classes
        }
        return (perStep, parameters.array.map(\.bitPattern), state.array.map(\.bitPattern), outputs.map(\.bitPattern))
    }

    func testFoldsOnlyBatchNormsThatTheAddAloneReads() throws {
        let fused = try blocksModel(fusePasses: true), unfused = try blocksModel(fusePasses: false)
        let folded = fused.layerNames.indices.compactMap { i in fused.normalizationFolding.foldedInto[i].map { (fused.layerNames[i], fused.layerNames[$0]) } }
        XCTAssertEqual(folded.map(\.0), ["b1_bn", "b2_bn", "b2_proj_bn"])
        XCTAssertEqual(folded.map(\.1), ["b1_add", "b2_add", "b2_add"])
        XCTAssertEqual(fused.layerNames.indices.filter { fused.normalizationFolding.foldsInputs[$0] }.map { fused.layerNames[$0] },
                       ["b1_add", "b2_add"])
        XCTAssertTrue(unfused.normalizationFolding.foldedInto.allSatisfy { $0 == nil })
        // The folded outputs are never allocated, and the estimate says so.
        let bytes = { (model: Sequential) in MemoryEstimate.workspaceBytes(model: model, capacity: 3, shareCapacity: 3) }
        XCTAssertEqual(bytes(unfused) - bytes(fused), Double(4 * 3 * (6 * 6 * 4 + 2 * 3 * 3 * 8)))
        XCTAssertEqual(bytes(fused), Double(MemoryEstimate.measuredWorkspaceBytes(model: fused, capacity: 3, shareCapacity: 3)))
    }

    func testFoldedBlocksTrainTheSameBitsAsTheirOwnPasses() throws {
        let fused = try blocksModel(fusePasses: true), unfused = try blocksModel(fusePasses: false)
        for threads in [1, 2] {
            let a = train(fused, threads: threads, steps: 3), b = train(unfused, threads: threads, steps: 3)
            for step in a.gradients.indices {
                assertSameBits(a.gradients[step], b.gradients[step], "\(threads) thread(s), step \(step): gradients")
            }
            assertSameBits(a.parameters, b.parameters, "\(threads) thread(s): parameters")
            assertSameBits(a.state, b.state, "\(threads) thread(s): moving statistics")
            assertSameBits(a.outputs, b.outputs, "\(threads) thread(s): evaluated outputs")
        }
    }

    /// ResNet-20: every block's second batch norm and both projections' batch norms fold (9 + 2).
    func testResNetFoldsEveryBlockEnd() throws {
        let path = SharedData.packageRoot.appendingPathComponent("configs/resnet20-cifar10.toml").path
        let model = try Sequential(try ExperimentConfig.load(path: path).model, fusePasses: true)
        let folded = model.layerNames.indices.filter { model.normalizationFolding.foldedInto[$0] != nil }.map { model.layerNames[$0] }
        XCTAssertEqual(folded.count, 11)
        XCTAssertTrue(folded.allSatisfy { $0.hasSuffix("_bn2") || $0.hasSuffix("_proj_bn") }, "\(folded)")
    }
}
