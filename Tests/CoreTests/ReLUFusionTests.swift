import ConvNetConfig
import ConvNetCore
import Foundation
import TestSupport
import XCTest

/// `ReLUFusion`: ResNet-20 (configs/resnet20-cifar10.toml) trains to the same bytes with batch norm
/// + ReLU and add + ReLU fused as with every layer's own passes, and evaluates to the same outputs.
final class ReLUFusionTests: XCTestCase {
    private let batch = 12

    /// Parameters and state (bit patterns) after `steps` plain SGD steps, each step's loss, and the
    /// evaluation outputs after them.
    private func train(_ model: Sequential, threads: Int, steps: Int)
        -> (parameters: [UInt32], state: [UInt32], losses: [Double], outputs: [UInt32]) {
        let pixels = model.inputShape.count
        var generator = SeededGenerator(seed: 21)
        let images = (0..<(batch * pixels)).map { _ in 2 * generator.nextUnitFloat() - 1 }
        let fill = fixedBatchFiller(images, pixels: pixels, classes: model.classes)
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

    private func random(_ count: Int, seed: UInt64) -> [Float] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { _ in 2 * generator.nextUnitFloat() - 1 }
    }

    private func assertSameBits(_ actual: Buffer<Float>, _ expected: Buffer<Float>, _ what: String) {
        assertSameBits(actual.array.map(Double.init), expected.array.map(Double.init), what)
    }

    private func assertSameBits(_ actual: Buffer<Double>, _ expected: Buffer<Double>, _ what: String) {
        assertSameBits(actual.array, expected.array, what)
    }

    /// Float converts to Double exactly (NaN stays NaN, -0 stays -0), so this compares Float bits too.
    private func assertSameBits(_ actual: [Double], _ expected: [Double], _ what: String) {
        XCTAssertEqual(actual.count, expected.count, what)
        if let i = actual.indices.first(where: { actual[$0].bitPattern != expected[$0].bitPattern }) {
            XCTFail("\(what): element \(i) differs (\(actual[i]) against \(expected[i]))")
        }
    }

    /// Batch norm's fused passes and statistics against its passes followed by the ReLU's, in training,
    /// for channel counts that fill vectors and that leave tails.
    func testBatchNormWithReLUMatchesTheSeparatePasses() {
        for (shape, batch) in [([5, 7, 12], 3), ([4, 4, 64], 2), ([3, 3, 37], 3), ([6], 5)] {
            let layer = BatchNorm().boundForTest(shape), c = shape.last!, count = batch * shape.reduce(1, *)
            let label = "\(shape) batch \(batch)"
            // Channel 0 constant and its beta 0: its pre-activation is exactly 0, where the mask must be 0 too.
            let x = FloatBuffer(random(count, seed: 31).enumerated().map { $0 % c == 0 ? 0.5 : $1 * 3 + 0.2 })
            let dy = FloatBuffer(random(count, seed: 32))
            let parameters = FloatBuffer(random(c, seed: 33).map { $0 + 1.2 } + [0] + random(c - 1, seed: 34))
            let state = FloatBuffer(count: 2 * c), scratch = FloatBuffer(count: layer.scratchCount(batch: batch))
            let ids = Buffer<Int64>(count: batch)
            let statistics = DoubleBuffer(count: layer.statisticsCount)
            layer.addForwardStatistics(x.pointer, batch: batch, into: statistics.pointer)
            func memory(_ statistics: DoubleBuffer) -> LayerMemory {
                LayerMemory(saved: scratch.pointer, scratch: scratch.pointer, prepared: parameters.pointer, state: state.pointer,
                            statistics: statistics.pointer)
            }
            let context = PassContext(training: true, sampleIDs: ids.pointer)
            let separate = FloatBuffer(count: count), fused = FloatBuffer(count: count)
            layer.forward(x.pointer, separate.pointer, batch: batch, parameters: parameters.pointer, memory: memory(statistics), context: context)
            for i in 0..<count { separate[i] = separate[i] > 0 ? separate[i] : 0 }
            layer.forwardReLU(inputs: [x.pointer], fused.pointer, batch: batch, parameters: parameters.pointer,
                              memory: memory(statistics), context: context)
            assertSameBits(fused, separate, "forward \(label)")

            let masked = FloatBuffer((0..<count).map { separate[$0] > 0 ? dy[$0] : 0 })
            let sumsSeparate = DoubleBuffer(count: layer.statisticsCount), sumsFused = DoubleBuffer(count: layer.statisticsCount)
            layer.addBackwardStatistics(x: x.pointer, dy: masked.pointer, batch: batch, statistics: statistics.pointer,
                                        into: sumsSeparate.pointer)
            layer.addBackwardStatisticsThroughReLU(x: x.pointer, dy: dy.pointer, batch: batch, parameters: parameters.pointer,
                                                   statistics: statistics.pointer, into: sumsFused.pointer)
            assertSameBits(sumsFused, sumsSeparate, "backward statistics \(label)")
            let global = DoubleBuffer((0..<layer.statisticsCount).map { statistics[$0] + sumsSeparate[$0] })
            let dxSeparate = FloatBuffer(count: count), dxFused = FloatBuffer(count: count)
            let gradientsSeparate = DoubleBuffer(count: 2 * c), gradientsFused = DoubleBuffer(count: 2 * c)
            layer.backward(x: x.pointer, y: separate.pointer, dy: masked.pointer, dx: dxSeparate.pointer, batch: batch,
                           parameters: parameters.pointer, gradients: gradientsSeparate.pointer, memory: memory(global), context: context)
            layer.backwardReLU(inputs: [x.pointer], y: fused.pointer, dy: dy.pointer, dxs: [dxFused.pointer], batch: batch,
                               parameters: parameters.pointer, gradients: gradientsFused.pointer, memory: memory(global), context: context)
            assertSameBits(dxFused, dxSeparate, "input gradient \(label)")
            assertSameBits(gradientsFused, gradientsSeparate, "gamma and beta gradients \(label)")
        }
    }

    /// Add's fused passes against its passes followed by the ReLU's, with -0, 0 and NaN among the values.
    func testAddWithReLUMatchesTheSeparatePasses() {
        for inputs in [2, 3] {
            let layer = try! Add().bound(toInputs: Array(repeating: TensorShape([3, 5, 7]), count: inputs))
            let batch = 2, count = batch * 105
            let xs = (0..<inputs).map { k in
                var values = random(count, seed: 40 + UInt64(k))
                values[3 + k] = -0.0
                values[9] = k == 0 ? .nan : 1
                values[11] = 0
                return FloatBuffer(values)
            }
            let dy = FloatBuffer(random(count, seed: 45)), ids = Buffer<Int64>(count: batch), none = FloatBuffer(count: 1)
            let memory = LayerMemory(saved: none.pointer, scratch: none.pointer, prepared: none.pointer, state: none.pointer,
                                     statistics: DoubleBuffer(count: 1).pointer)
            let context = PassContext(training: true, sampleIDs: ids.pointer)
            let separate = FloatBuffer(count: count), fused = FloatBuffer(count: count)
            layer.forward(inputs: xs.map { UnsafePointer($0.pointer) }, separate.pointer, batch: batch)
            for i in 0..<count { separate[i] = separate[i] > 0 ? separate[i] : 0 }
            layer.forwardReLU(inputs: xs.map { UnsafePointer($0.pointer) }, fused.pointer, batch: batch,
                              parameters: none.pointer, memory: memory, context: context)
            assertSameBits(fused, separate, "forward, \(inputs) inputs")
            let expected = FloatBuffer((0..<count).map { separate[$0] > 0 ? dy[$0] : 0 })
            let dxs = (0..<inputs).map { _ in FloatBuffer(count: count) }
            layer.backwardReLU(inputs: xs.map { UnsafePointer($0.pointer) }, y: fused.pointer, dy: dy.pointer,
                               dxs: dxs.map { Optional($0.pointer) } + [nil], batch: batch, parameters: none.pointer,
                               gradients: DoubleBuffer(count: 1).pointer, memory: memory, context: context)
            for (k, dx) in dxs.enumerated() { assertSameBits(dx, expected, "input \(k) gradient, \(inputs) inputs") }
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
