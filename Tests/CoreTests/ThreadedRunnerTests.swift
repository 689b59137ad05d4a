import ConvNetConfig
import ConvNetCore
import Foundation
import TestSupport
import XCTest

/// The runner's staged pass (batch norm's global statistics) and dropout on several threads: the
/// gradient and the updated moving statistics are the same bits for any thread count and chunk
/// size, as they are for the reference model. (Also the threaded test that launch/sanitize runs
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
}
