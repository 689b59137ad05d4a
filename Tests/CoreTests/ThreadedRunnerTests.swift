import ConvNetConfig
import ConvNetCore
import Foundation
import TestSupport
import XCTest

/// The runner's staged pass (batch norm's global statistics) and dropout on several threads: the
/// gradient and the updated moving statistics are the same bits for any thread count and chunk
/// size, as they are for the reference model. (Also the threaded test that tools/sanitize runs
/// under ThreadSanitizer.)
final class ThreadedRunnerTests: XCTestCase {
    func testBatchNormAndDropoutGradientsDoNotDependOnThreads() throws {
        let config = try ExperimentConfig.load(path: SharedData.packageRoot.appendingPathComponent("configs/fashion-mnist-bn.toml").path)
        let model = try Sequential(config.model)
        let parameters = FloatBuffer(count: model.parameterCount)
        Initialization.glorotUniform(model, seed: 3, into: parameters)
        var generator = SeededGenerator(seed: 11)
        let batch = 24
        let images = (0..<(batch * 784)).map { _ in generator.nextUnitFloat() }
        let fill: BatchFiller = { range, x, labels, ids in
            for (slot, n) in range.enumerated() {
                for i in 0..<784 { x[slot * 784 + i] = images[n * 784 + i] }
                labels[slot] = Int32(n % 10)
                ids[slot] = Int64(1000 + n)
            }
        }
        func step(threads: Int, chunkSize: Int) -> (gradients: [UInt32], state: [UInt32], loss: Double) {
            let state = FloatBuffer(count: model.stateCount)
            Initialization.initialState(model, into: state)
            let out = DoubleBuffer(count: model.parameterCount)
            let stats = ModelRunner(model: model, loss: config.loss, maxBatch: batch, threads: threads, chunkSize: chunkSize)
                .gradients(batchSize: batch, parameters: parameters.pointer, state: state.pointer, globalStep: 7, seed: 5,
                           into: out.pointer, fill: fill)
            return (out.array.map { Float($0 / Double(batch)).bitPattern }, state.array.map(\.bitPattern), stats.lossSum)
        }
        let one = step(threads: 1, chunkSize: 4)
        XCTAssertNotEqual(one.state, [Float](repeating: 0, count: model.stateCount).map(\.bitPattern), "moving statistics moved")
        for (threads, chunkSize) in [(2, 4), (3, 1), (4, 64)] {
            let other = step(threads: threads, chunkSize: chunkSize)
            XCTAssertEqual(other.gradients, one.gradients, "\(threads) threads, chunks of \(chunkSize)")
            XCTAssertEqual(other.state, one.state, "\(threads) threads: moving statistics")
            XCTAssertEqual(other.loss, one.loss, accuracy: 1e-9 * abs(one.loss))
        }
    }

    /// The staged training pass, end to end: the runner's gradient of the summed loss of a model with
    /// same-padding convolutions, batch norm on images and on a dense layer, dropout and a softmax
    /// output matches central differences of the loss the same pass computes (training mode: batch
    /// statistics, the step's dropout masks), for parameters of every layer. (Average pooling, not max:
    /// a max-pool winner that changes within the finite-difference step makes the difference
    /// meaningless; max pooling's backward pass has its own checks.)
    func testStagedPassGradientMatchesFiniteDifferences() throws {
        let model = try Sequential(ModelSpec(inputShape: TensorShape([6, 6, 1]), classes: 3, layers: [
            Conv2D(filters: 3, kernelSize: (3, 3), padding: .same, useBias: false), BatchNorm(), ActivationLayer(.tanh),
            AvgPool2D(window: PoolWindow(size: (2, 2))), Dropout(rate: 0.3), Flatten(), Dense(units: 5), BatchNorm(momentum: 0.9), ActivationLayer(.elu),
            Dense(units: 3, activation: .softmax),
        ]))
        var generator = SeededGenerator(seed: 21)
        let batch = 6
        let images = (0..<(batch * 36)).map { _ in generator.nextUnitFloat() }
        let parameters = FloatBuffer(count: model.parameterCount)
        Initialization.glorotUniform(model, seed: 4, into: parameters)
        for view in model.parameterLayout.views where view.name.hasSuffix("gamma") || view.name.hasSuffix("beta") {
            for i in view.range { parameters[i] += 0.3 * (generator.nextUnitFloat() - 0.5) }
        }
        let fill: BatchFiller = { range, x, labels, ids in
            for (slot, n) in range.enumerated() {
                for i in 0..<36 { x[slot * 36 + i] = images[n * 36 + i] }
                labels[slot] = Int32(n % 3)
                ids[slot] = Int64(n)
            }
        }
        let state = FloatBuffer(count: model.stateCount)
        let gradients = DoubleBuffer(count: model.parameterCount), scratch = DoubleBuffer(count: model.parameterCount)
        for threads in [1, 2] {
            let runner = ModelRunner(model: model, maxBatch: batch, threads: threads)
            func loss() -> Double {
                runner.gradients(batchSize: batch, parameters: parameters.pointer, state: state.pointer, globalStep: 3, seed: 9,
                                 into: scratch.pointer, fill: fill).lossSum
            }
            _ = runner.gradients(batchSize: batch, parameters: parameters.pointer, state: state.pointer, globalStep: 3, seed: 9,
                                 into: gradients.pointer, fill: fill)
            let h: Float = 1e-3
            for view in model.parameterLayout.views {
                for i in stride(from: view.offset, to: view.offset + view.count, by: max(1, view.count / 7)) {
                    let saved = parameters[i]
                    parameters[i] = saved + h; let plus = loss()
                    parameters[i] = saved - h; let minus = loss()
                    parameters[i] = saved
                    let numeric = (plus - minus) / Double(2 * h)
                    XCTAssertEqual(gradients[i], numeric, accuracy: 5e-3 * max(1, abs(numeric)), "\(view.name)[\(i - view.offset)], \(threads) thread(s)")
                }
            }
        }
    }
}
