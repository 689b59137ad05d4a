import ConvNetCore
import XCTest

/// Finite-difference checks of every layer's backward pass and of the fused softmax/cross-entropy.
///
/// For a layer `y = f(x; w)` we take the scalar `L = sum_i r_i * y_i` with fixed random `r`, so
/// `dL/dy = r`; `backward` then must give `dL/dx` and `dL/dw` equal to the central differences
/// `(L(v + h) - L(v - h)) / 2h`, computed in Double from Float forward passes.
final class GradientCheckTests: XCTestCase {
    func testConv2DLinear() { checkLayer(Conv2D(inputShape: TensorShape([6, 5, 3]), filters: 4, kernelSize: (3, 2), activation: .linear)) }
    func testConv2DRelu() { checkLayer(Conv2D(inputShape: TensorShape([5, 5, 2]), filters: 3, kernelSize: (3, 3), activation: .relu)) }
    func testDenseLinear() { checkLayer(Dense(inputShape: TensorShape([7]), units: 5, activation: .linear)) }
    func testDenseRelu() { checkLayer(Dense(inputShape: TensorShape([6]), units: 4, activation: .relu)) }
    func testMaxPool2D() { checkLayer(MaxPool2D(inputShape: TensorShape([5, 4, 3]), pool: 2)) }
    func testFlatten() { checkLayer(Flatten(inputShape: TensorShape([2, 3, 2]))) }

    /// The whole model's mean cross-entropy: checks softmax + loss fusion and the chaining of layers.
    func testSoftmaxCrossEntropyThroughSmallModel() throws {
        let model = try Sequential(ModelSpec(
            inputShape: TensorShape([6, 6, 1]), classes: 3,
            layers: [.conv2d(filters: 2, kernelSize: (3, 3), activation: .relu), .maxPool2d(pool: 2),
                     .flatten, .dense(units: 3, activation: .softmax)]))
        var generator = SeededGenerator(seed: 7)
        let batch = 4
        let images = (0..<(batch * 36)).map { _ in generator.nextUnitFloat() }
        let labels: [Int32] = [0, 2, 1, 2]
        let parameters = FloatBuffer(count: model.parameterCount)
        for i in 0..<parameters.count { parameters[i] = generator.nextUnitFloat() - 0.5 }
        // Keep the conv outputs away from relu's kink, where a finite difference is meaningless.
        for view in model.parameterLayout.views where view.name == "conv2d_1.bias" {
            for i in view.range { parameters[i] = 0.3 }
        }
        let runner = ModelRunner(model: model, maxBatch: batch, threads: 1)
        let fill: BatchFiller = { range, x, y in
            for (slot, n) in range.enumerated() {
                for i in 0..<36 { x[slot * 36 + i] = images[n * 36 + i] }
                y[slot] = labels[n]
            }
        }
        func loss() -> Double {
            runner.evaluate(sampleCount: batch, parameters: parameters.pointer, fill: fill).lossSum
        }
        let gradients = DoubleBuffer(count: model.parameterCount)
        let stats = runner.gradients(batchSize: batch, parameters: parameters.pointer, into: gradients.pointer, fill: fill)
        XCTAssertEqual(stats.lossSum, loss(), accuracy: 1e-6)
        let h: Float = 1e-3
        for i in 0..<parameters.count {
            let saved = parameters[i]
            parameters[i] = saved + h; let plus = loss()
            parameters[i] = saved - h; let minus = loss()
            parameters[i] = saved
            let numeric = (plus - minus) / Double(2 * h)
            XCTAssertEqual(gradients[i], numeric, accuracy: 2e-3 * max(1, abs(numeric)), "parameter \(i)")
        }
    }

    private func checkLayer(_ layer: some Layer, batch: Int = 2, file: StaticString = #filePath, line: UInt = #line) {
        var generator = SeededGenerator(seed: 42)
        func random(_ count: Int) -> [Float] { (0..<count).map { _ in 2 * generator.nextUnitFloat() - 1 } }
        var x = random(batch * layer.inputShape.count)
        var parameters = random(layer.parameterCount)
        let r = random(batch * layer.outputShape.count)
        var saved = [Float](repeating: 0, count: max(1, layer.savedCount(batch: batch)))
        var scratch = [Float](repeating: 0, count: max(1, layer.scratchCount(batch: batch)))

        func withMemory<T>(_ body: (LayerMemory) -> T) -> T {
            let prepared = layer.prepared(parameters: parameters)
            return saved.withUnsafeMutableBufferPointer { s in
                scratch.withUnsafeMutableBufferPointer { t in
                    prepared.withUnsafeBufferPointer { p in
                        body(LayerMemory(saved: s.baseAddress!, scratch: t.baseAddress!, prepared: p.baseAddress!))
                    }
                }
            }
        }
        func forward() -> [Float] {
            var y = [Float](repeating: 0, count: batch * layer.outputShape.count)
            withMemory { memory in layer.forward(x, &y, batch: batch, parameters: parameters + [0], memory: memory) }
            return y
        }
        func objective() -> Double { zip(forward(), r).reduce(0) { $0 + Double($1.0) * Double($1.1) } }

        let y = forward()
        var dy = r
        var dx = [Float](repeating: 0, count: x.count)
        var dw = [Double](repeating: 0, count: max(1, layer.parameterCount))
        withMemory { memory in
            layer.backward(x: x, y: y, dy: &dy, dx: &dx, batch: batch, parameters: parameters + [0],
                           gradients: &dw, memory: memory)
        }

        let h: Float = 1e-2
        func numeric(_ original: Float, _ set: (Float) -> Void) -> Double {
            set(original + h); let plus = objective()
            set(original - h); let minus = objective()
            set(original)
            return (plus - minus) / Double(2 * h)
        }
        for i in 0..<x.count {
            let expected = numeric(x[i]) { x[i] = $0 }
            XCTAssertEqual(Double(dx[i]), expected, accuracy: 2e-3 * max(1, abs(expected)),
                           "\(layer.kind) input gradient \(i)", file: file, line: line)
        }
        for i in 0..<layer.parameterCount {
            let expected = numeric(parameters[i]) { parameters[i] = $0 }
            XCTAssertEqual(dw[i], expected, accuracy: 2e-3 * max(1, abs(expected)),
                           "\(layer.kind) parameter gradient \(i)", file: file, line: line)
        }
    }
}
