import ConvNetConfig
import ConvNetCore
import Foundation
import TestSupport
import XCTest

/// `ReLUFusion`: ResNet-20 (configs/resnet20-cifar10.toml) trains to the same bytes with batch norm
/// + ReLU and add + ReLU fused as with every layer's own passes, and evaluates to the same outputs.
final class ReLUFusionTests: XCTestCase {
    private let batch = 12

    private func filler(_ images: [Float], pixels: Int, classes: Int) -> BatchFiller {
        { range, x, labels, ids in
            for (slot, n) in range.enumerated() {
                for i in 0..<pixels { x[slot * pixels + i] = images[n * pixels + i] }
                labels[slot] = Int32((n * 7) % classes)
                ids[slot] = Int64(n)
            }
        }
    }

    /// Parameters and state (bit patterns) after `steps` plain SGD steps, each step's loss, and the
    /// evaluation outputs after them.
    private func train(_ model: Sequential, threads: Int, steps: Int)
        -> (parameters: [UInt32], state: [UInt32], losses: [Double], outputs: [UInt32]) {
        let pixels = model.inputShape.count
        var generator = SeededGenerator(seed: 21)
        let images = (0..<(batch * pixels)).map { _ in 2 * generator.nextUnitFloat() - 1 }
        let fill = filler(images, pixels: pixels, classes: model.classes)
        let parameters = FloatBuffer(count: model.parameterCount), state = FloatBuffer(count: model.stateCount)
        Initialization.glorotUniform(model, seed: 4, into: parameters)
        Initialization.initialState(model, into: state)
        let runner = ModelRunner(model: model, maxBatch: batch, threads: threads)
        let gradients = DoubleBuffer(count: model.parameterCount)
        var losses: [Double] = []
        for step in 0..<steps {
            let statistics = runner.gradients(batchSize: batch, parameters: parameters.pointer, state: state.pointer,
                                              globalStep: step, seed: 9, into: gradients.pointer, fill: fill)
            losses.append(statistics.lossSum)
            for k in 0..<model.parameterCount { parameters.pointer[k] -= 0.1 * Float(gradients.pointer[k] / Double(batch)) }
        }
        let outputs = [Float](unsafeUninitializedCapacity: batch * model.classes) { buffer, count in
            _ = runner.evaluate(sampleCount: batch, parameters: parameters.pointer, state: state.pointer,
                                probabilities: buffer.baseAddress!, fill: fill)
            count = batch * model.classes
        }
        return (parameters.array.map(\.bitPattern), state.array.map(\.bitPattern), losses, outputs.map(\.bitPattern))
    }

    func testFusedResNetTrainsTheSameBytesAsUnfused() throws {
        let path = SharedData.packageRoot.appendingPathComponent("configs/resnet20-cifar10.toml").path
        let config = try ExperimentConfig.load(path: path)
        let fused = try Sequential(config.model, fusePasses: true), unfused = try Sequential(config.model, fusePasses: false)
        // The stem's and every block's first batch norm + ReLU (10), every block's add + ReLU (9).
        XCTAssertEqual(fused.reluFusion.fusesNext.filter { $0 }.count, 19)
        XCTAssertEqual(unfused.reluFusion.fusesNext.filter { $0 }.count, 0)
        XCTAssertEqual(fused.layerNames, unfused.layerNames)
        XCTAssertEqual(fused.parameterLayout, unfused.parameterLayout)
        for threads in [1, 2] {
            let a = train(fused, threads: threads, steps: 3), b = train(unfused, threads: threads, steps: 3)
            XCTAssertEqual(a.losses, b.losses, "\(threads) thread(s): losses")
            XCTAssertTrue(a.parameters == b.parameters, "\(threads) thread(s): the weights differ")
            XCTAssertTrue(a.state == b.state, "\(threads) thread(s): the moving statistics differ")
            XCTAssertTrue(a.outputs == b.outputs, "\(threads) thread(s): the evaluated outputs differ")
        }
    }

    /// The fused gradients share memory only where the plan says so: no two gradients live at one step
    /// share a slot, except a fused layer's with its ReLU's, which are one gradient; and `MemoryEstimate`
    /// counts the fused plan's slots.
    func testFusedGradientPlanKeepsLiveGradientsApart() throws {
        let config = try ExperimentConfig.load(path: SharedData.packageRoot.appendingPathComponent("configs/resnet20-cifar10.toml").path)
        let model = try Sequential(config.model, fusePasses: true)
        let plan = GradientBufferPlan(model: model), fused = model.reluFusion.fusesNext
        var items: [(live: ClosedRange<Int>, slot: Int, owner: Int)] = []
        for (j, item) in plan.outputGradients.enumerated() where !fused[j] {
            items.append((item.live, plan.outputGradientSlots[j], j))
        }
        for (i, row) in plan.addends.enumerated() {
            for (k, item) in row.enumerated() { if let item { items.append((item.live, plan.addendSlots[i][k]!, -1 - i)) } }
        }
        for j in fused.indices where fused[j] {
            XCTAssertEqual(plan.outputGradientSlots[j], plan.outputGradientSlots[j + 1])
            XCTAssertEqual(plan.outputGradients[j + 1].live.lowerBound, j)
        }
        for a in items.indices {
            for b in items.indices where b > a && items[a].slot == items[b].slot {
                XCTAssertFalse(items[a].live.overlaps(items[b].live), "\(items[a]) and \(items[b]) share a slot")
            }
        }
        let measured = Double(MemoryEstimate.measuredWorkspaceBytes(model: model, capacity: 3, shareCapacity: 3))
        XCTAssertEqual(MemoryEstimate.workspaceBytes(model: model, capacity: 3, shareCapacity: 3), measured)
    }
}
