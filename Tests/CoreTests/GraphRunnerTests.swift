import ConvNetConfig
import ConvNetCore
import Foundation
import SafeTensors
import TestSupport
import XCTest

/// Graph models in the runner: the gradient through a residual block and a concatenation against
/// finite differences, the same bits for any thread count and chunk size, and `add` / `concatenate`
/// against Keras (`Tests/python/make_graph_goldens.py` writes `Tests/Goldens/graphs.safetensors`).
final class GraphRunnerTests: XCTestCase {
    /// stem -> conv -> batch norm -> relu -> conv -> add(stem) -> relu -> concatenate(stem) -> pool -> dense:
    /// `stem` feeds three layers, so its gradient is a sum of three.
    private func residualModel() throws -> Sequential {
        let layers: [any Layer] = [
            Conv2D(filters: 2, kernelSize: (3, 3), padding: .same, activation: .relu),
            Conv2D(filters: 2, kernelSize: (3, 3), padding: .same, useBias: false), BatchNorm(), ActivationLayer(.relu),
            Conv2D(filters: 2, kernelSize: (3, 3), padding: .same), Add(), ActivationLayer(.relu),
            Concatenate(), AvgPool2D(window: PoolWindow(size: (2, 2))), Flatten(), Dense(units: 3, activation: .softmax),
        ]
        var inputs = [[String]?](repeating: nil, count: layers.count)
        inputs[5] = ["conv2d_2", "stem"]
        inputs[7] = ["activation_2", "stem"]
        return try Sequential(ModelSpec(inputShape: TensorShape([6, 6, 1]), classes: 3, layers: layers,
                                        names: ["stem"] + [String?](repeating: nil, count: layers.count - 1), inputs: inputs))
    }

    private func filler(_ images: [Float], pixels: Int, classes: Int) -> BatchFiller {
        { range, x, labels, ids in
            for (slot, n) in range.enumerated() {
                for i in 0..<pixels { x[slot * pixels + i] = images[n * pixels + i] }
                labels[slot] = Int32(n % classes)
                ids[slot] = Int64(n)
            }
        }
    }

    func testResidualBlockGradientMatchesFiniteDifferences() throws {
        let model = try residualModel()
        XCTAssertEqual(model.graph.consumers[0], [1, 5, 7])
        try assertGradientsMatchFiniteDifferences(model, pixels: 36, classes: 3)
    }

    /// Backward stops where nothing below has parameters: the scaling in front of the convolution,
    /// read also by the add, gets no gradient, and the parameters' gradients are still right.
    func testLayersWithoutParametersBelowThemAreSkippedBackward() throws {
        let layers: [any Layer] = [Rescaling(scale: 2, offset: -0.5), Conv2D(filters: 1, kernelSize: (3, 3), padding: .same, activation: .relu),
                                   Add(), Flatten(), Dense(units: 3, activation: .softmax)]
        let model = try Sequential(ModelSpec(inputShape: TensorShape([6, 6, 1]), classes: 3, layers: layers,
                                             names: ["scaled", nil, nil, nil, nil], inputs: [nil, nil, ["conv2d_1", "scaled"], nil, nil]))
        XCTAssertEqual(model.outputGradientNeeded, [false, true, true, true, true])
        XCTAssertEqual(model.layers.indices.map(model.computesInputGradient), [false, false, true, true, true])
        let chain = try Sequential(ModelSpec(inputShape: TensorShape([6, 6, 1]), classes: 3, layers: [layers[0], layers[1], layers[3], layers[4]]))
        XCTAssertEqual(chain.outputGradientNeeded, [false, true, true, true])
        try assertGradientsMatchFiniteDifferences(model, pixels: 36, classes: 3)
        try assertGradientsMatchFiniteDifferences(chain, pixels: 36, classes: 3)
        let runner = ModelRunner(model: model, maxBatch: 4, threads: 1)
        let times = runner.profileLayers()
        let parameters = FloatBuffer(count: model.parameterCount), state = FloatBuffer(count: model.stateCount)
        let gradients = DoubleBuffer(count: model.parameterCount)
        Initialization.glorotUniform(model, seed: 8, into: parameters)
        _ = runner.gradients(batchSize: 4, parameters: parameters.pointer, state: state.pointer, into: gradients.pointer,
                             fill: filler([Float](repeating: 0.5, count: 4 * 36), pixels: 36, classes: 3))
        XCTAssertEqual(times.backwardNanoseconds.map { $0 > 0 }, [false, true, true, true, true], "the layers backward ran")
        // A batch norm without parameters in front: its backward sums, of no use, are not made.
        let normalized = try Sequential(ModelSpec(inputShape: TensorShape([6, 6, 1]), classes: 3,
                                                  layers: [BatchNorm(center: false, scale: false), layers[1], layers[3], layers[4]]))
        XCTAssertEqual(normalized.outputGradientNeeded, [false, true, true, true])
        try assertGradientsMatchFiniteDifferences(normalized, pixels: 36, classes: 3)
    }

    /// Every parameter view's gradient, sampled, against central differences of the loss, on 1 and 2 threads.
    private func assertGradientsMatchFiniteDifferences(_ model: Sequential, pixels: Int, classes: Int,
                                                       file: StaticString = #filePath, line: UInt = #line) throws {
        var generator = SeededGenerator(seed: 5)
        let batch = 5
        let images = (0..<(batch * pixels)).map { _ in generator.nextUnitFloat() }
        let parameters = FloatBuffer(count: model.parameterCount)
        Initialization.glorotUniform(model, seed: 8, into: parameters)
        for view in model.parameterLayout.views where view.name.hasSuffix("bias") || view.name.hasSuffix("beta") {
            for i in view.range { parameters[i] = 0.2 * (generator.nextUnitFloat() - 0.3) }
        }
        let fill = filler(images, pixels: pixels, classes: classes)
        let state = FloatBuffer(count: model.stateCount)
        let gradients = DoubleBuffer(count: model.parameterCount), scratch = DoubleBuffer(count: model.parameterCount)
        for threads in [1, 2] {
            let runner = ModelRunner(model: model, maxBatch: batch, threads: threads)
            func loss() -> Double {
                runner.gradients(batchSize: batch, parameters: parameters.pointer, state: state.pointer, into: scratch.pointer, fill: fill).lossSum
            }
            _ = runner.gradients(batchSize: batch, parameters: parameters.pointer, state: state.pointer, into: gradients.pointer, fill: fill)
            // Small: a bias or beta moves a whole channel, 180 values, and with 1e-3 one of them crosses a ReLU's kink.
            let h: Float = 2e-4
            for view in model.parameterLayout.views {
                for i in stride(from: view.offset, to: view.offset + view.count, by: max(1, view.count / 9)) {
                    let saved = parameters[i]
                    parameters[i] = saved + h; let plus = loss()
                    parameters[i] = saved - h; let minus = loss()
                    parameters[i] = saved
                    let numeric = (plus - minus) / Double(2 * h)
                    XCTAssertEqual(gradients[i], numeric, accuracy: 5e-3 * max(1, abs(numeric)),
                                   "\(view.name)[\(i - view.offset)], \(threads) thread(s)", file: file, line: line)
                }
            }
        }
    }

    /// The shipped residual config: gradient, moving statistics and loss do not depend on the
    /// thread count or the chunk size.
    func testResidualGradientsDoNotDependOnThreads() throws {
        let config = try ExperimentConfig.load(path: SharedData.packageRoot.appendingPathComponent("configs/residual-mnist.toml").path)
        let model = try Sequential(config.model)
        XCTAssertFalse(model.graph.isChain)
        let parameters = FloatBuffer(count: model.parameterCount)
        Initialization.glorotUniform(model, seed: 3, into: parameters)
        var generator = SeededGenerator(seed: 12)
        let batch = 20
        let images = (0..<(batch * 784)).map { _ in generator.nextUnitFloat() }
        let fill = filler(images, pixels: 784, classes: 10)
        func step(threads: Int, chunkSize: Int) -> (gradients: [UInt32], state: [UInt32], loss: Double) {
            let state = FloatBuffer(count: model.stateCount)
            Initialization.initialState(model, into: state)
            let out = DoubleBuffer(count: model.parameterCount)
            let stats = ModelRunner(model: model, loss: config.loss, maxBatch: batch, threads: threads, chunkSize: chunkSize)
                .gradients(batchSize: batch, parameters: parameters.pointer, state: state.pointer, globalStep: 2, seed: 5,
                           into: out.pointer, fill: fill)
            return (out.array.map { Float($0 / Double(batch)).bitPattern }, state.array.map(\.bitPattern), stats.lossSum)
        }
        let one = step(threads: 1, chunkSize: 4)
        for (threads, chunkSize) in [(2, 4), (3, 1)] {
            let other = step(threads: threads, chunkSize: chunkSize)
            XCTAssertEqual(other.gradients, one.gradients, "\(threads) threads, chunks of \(chunkSize)")
            XCTAssertEqual(other.state, one.state, "\(threads) threads: moving statistics")
            XCTAssertEqual(other.loss, one.loss, accuracy: 1e-9 * abs(one.loss))
        }
    }

    func testMergingLayersMatchKeras() throws {
        let file = try SafeTensors.read(path: SharedData.packageRoot.appendingPathComponent("Tests/Goldens/graphs.safetensors").path)
        let names = try JSONDecoder().decode([String].self, from: Data(try XCTUnwrap(file.metadata["cases"]).utf8))
        var kindsSeen = Set<String>()
        for name in names {
            let described = try ExperimentConfig.layer(toml: try XCTUnwrap(file.metadata[name]))
            let shapes = try JSONDecoder().decode([[Int]].self, from: Data(try XCTUnwrap(file.metadata["\(name).input_shapes"]).utf8))
            let layer = try XCTUnwrap(described as? any MergingLayer).bound(toInputs: shapes.map(TensorShape.init))
            kindsSeen.insert(layer.typeName)
            func values(_ key: String) throws -> [Float] { try XCTUnwrap(file.tensors["\(name).\(key)"], "\(name).\(key)").values }
            let xs = try shapes.indices.map { try values("x\($0)") }
            let batch = xs[0].count / shapes[0].reduce(1, *)
            var y = [Float](repeating: .nan, count: batch * layer.outputShape.count)
            let xBuffers = xs.map { x -> FloatBuffer in
                let buffer = FloatBuffer(count: x.count)
                for (i, v) in x.enumerated() { buffer[i] = v }
                return buffer
            }
            y.withUnsafeMutableBufferPointer { layer.forward(inputs: xBuffers.map { UnsafePointer($0.pointer) }, $0.baseAddress!, batch: batch) }
            XCTAssertEqual(maxAbsoluteDifference(y, try values("y")), 0, accuracy: 1e-6, "\(name) output")
            let dy = try values("dy")
            let dxBuffers = xs.map { FloatBuffer(count: $0.count) }
            for buffer in dxBuffers { buffer.fill(.nan) }
            dy.withUnsafeBufferPointer { layer.backward(dy: $0.baseAddress!, dxs: dxBuffers.map(\.pointer), batch: batch) }
            for (k, buffer) in dxBuffers.enumerated() {
                XCTAssertEqual(buffer.array, try values("dx\(k)"), "\(name) gradient of input \(k)")
            }
        }
        XCTAssertEqual(kindsSeen, Set(LayerRegistry.kinds.filter { $0 is any MergingLayer.Type }.map { $0.typeName }),
                       "every merging layer has a Keras golden case")
    }
}
