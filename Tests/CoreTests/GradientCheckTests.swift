import ConvNetConfig
import ConvNetCore
import TestSupport
import XCTest

/// Finite-difference checks of every layer's backward pass and of the fused softmax/cross-entropy.
///
/// For a layer `y = f(x; w)` we take the scalar `L = sum_i r_i * y_i` with fixed random `r`, so
/// `dL/dy = r`; `backward` then must give `dL/dx` and `dL/dw` equal to the central differences
/// `(L(v + h) - L(v - h)) / 2h`, computed in Double from Float forward passes.
final class GradientCheckTests: XCTestCase {
    func testConv2DLinear() { checkLayer(Conv2D(filters: 4, kernelSize: (3, 2), activation: .linear).boundForTest([6, 5, 3])) }
    func testConv2DRelu() { checkLayer(Conv2D(filters: 3, kernelSize: (3, 3), activation: .relu).boundForTest([5, 5, 2])) }
    func testConv2DSameStrided() {
        checkLayer(Conv2D(filters: 3, kernelSize: (4, 3), strides: (2, 2), padding: .same, activation: .tanh).boundForTest([7, 6, 2]))
    }
    func testConv2DNoBiasGelu() { checkLayer(Conv2D(filters: 2, kernelSize: (2, 2), activation: .gelu, useBias: false).boundForTest([4, 5, 2])) }
    func testConv2DWinogradSameAndValid() {
        checkLayer(Conv2D(filters: 3, kernelSize: (3, 3), padding: .same, activation: .tanh, convolution: .winograd).boundForTest([5, 6, 2]))
        checkLayer(Conv2D(filters: 2, kernelSize: (3, 3), useBias: false, convolution: .winograd).boundForTest([7, 6, 3]))
    }
    func testDenseLinear() { checkLayer(Dense(units: 5, activation: .linear).boundForTest([7])) }
    func testDenseRelu() { checkLayer(Dense(units: 4, activation: .relu).boundForTest([6])) }
    func testDenseSoftmax() { checkLayer(Dense(units: 4, activation: .softmax).boundForTest([5])) }
    func testMaxPool2D() { checkLayer(MaxPool2D(pool: 2).boundForTest([5, 4, 3])) }
    func testMaxPool2DOverlappingSame() {
        checkLayer(MaxPool2D(window: PoolWindow(size: (3, 2), strides: (2, 1), padding: .same)).boundForTest([5, 4, 3]), step: 1e-3)
    }
    func testAvgPool2DSame() { checkLayer(AvgPool2D(window: PoolWindow(size: (3, 3), strides: (2, 2), padding: .same)).boundForTest([5, 6, 2])) }
    func testGlobalPools() {
        checkLayer(GlobalAvgPool2D().boundForTest([3, 4, 2]))
        checkLayer(GlobalMaxPool2D().boundForTest([3, 4, 2]))
    }
    func testFlatten() { checkLayer(Flatten().boundForTest([2, 3, 2])) }
    func testActivations() {
        for activation in Activation.allCases { checkLayer(ActivationLayer(activation).boundForTest([3, 5]), avoidZero: true) }
    }
    func testBatchNormTraining() {
        checkLayer(BatchNorm().boundForTest([3, 2, 3]), batch: 3, training: true, step: 2e-3)
        checkLayer(BatchNorm(center: false).boundForTest([4]), batch: 3, training: true, step: 2e-3)
    }
    func testBatchNormInference() { checkLayer(BatchNorm(epsilon: 0.01).boundForTest([2, 2, 3]), training: false) }
    func testDropoutTraining() { checkLayer(Dropout(rate: 0.4).boundForTest([3, 4]), training: true) }

    /// The whole model's mean cross-entropy: checks softmax + loss fusion and the chaining of layers.
    func testSoftmaxCrossEntropyThroughSmallModel() throws {
        let model = try Sequential(ModelSpec(
            inputShape: TensorShape([6, 6, 1]), classes: 3,
            layers: [Conv2D(filters: 2, kernelSize: (3, 3), activation: .relu), MaxPool2D(pool: 2),
                     Flatten(), Dense(units: 3, activation: .softmax)]))
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
        let state = FloatBuffer(count: 0)
        let fill: BatchFiller = { range, x, y, _ in
            for (slot, n) in range.enumerated() {
                for i in 0..<36 { x[slot * 36 + i] = images[n * 36 + i] }
                y[slot] = labels[n]
            }
        }
        func loss() -> Double {
            runner.evaluate(sampleCount: batch, parameters: parameters.pointer, state: state.pointer, fill: fill).lossSum
        }
        let gradients = DoubleBuffer(count: model.parameterCount)
        let stats = runner.gradients(batchSize: batch, parameters: parameters.pointer, state: state.pointer,
                                     into: gradients.pointer, fill: fill)
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

    /// Every registered loss (and cross-entropy's variants): its gradient with respect to the output,
    /// and, fused with a softmax, with respect to the logits, against central differences in Double.
    func testEveryLossGradient() throws {
        var losses: [any Loss] = LossRegistry.kinds.map { try! ExperimentConfig.loss(toml: "name = \"\($0.name)\"") }
        losses += [CategoricalCrossentropy(labelSmoothing: 0.1), CategoricalCrossentropy(fromLogits: true),
                   CategoricalCrossentropy(labelSmoothing: 0.2, fromLogits: true)]
        var generator = SeededGenerator(seed: 9)
        let classes = 5, label = 2
        for loss in losses {
            let logits = (0..<classes).map { _ in 4 * generator.nextUnitFloat() - 2 }
            let fromLogits = (loss as? CategoricalCrossentropy)?.fromLogits ?? false
            func probabilities(_ z: [Float]) -> [Float] {
                var p = z
                Softmax.normalise(&p, count: classes)
                return p
            }
            func value(_ output: [Float], fused: Bool = false) -> Double {
                output.withUnsafeBufferPointer { loss.sampleLoss(output: $0.baseAddress!, label: label, classes: classes, fused: fused, gradient: nil) }
            }
            func gradient(_ output: [Float], fused: Bool = false) -> [Float] {
                var g = [Float](repeating: 0, count: classes)
                _ = output.withUnsafeBufferPointer { o in
                    g.withUnsafeMutableBufferPointer { loss.sampleLoss(output: o.baseAddress!, label: label, classes: classes, fused: fused, gradient: $0.baseAddress!) }
                }
                return g
            }
            let name = LossRegistry.config(of: loss).map { "\($0.key)=\($0.value.text)" }.joined(separator: " ")
            // With respect to the output the loss sees (probabilities, or logits when from_logits).
            let output = fromLogits ? logits : probabilities(logits)
            let analytic = gradient(output)
            for k in 0..<classes {
                var plus = output, minus = output
                plus[k] += 1e-3; minus[k] -= 1e-3
                let numeric = (value(plus) - value(minus)) / 2e-3
                XCTAssertEqual(Double(analytic[k]), numeric, accuracy: 2e-3 * max(1, abs(numeric)), "\(name): d loss / d output \(k)")
            }
            // Fused with the softmax: with respect to the logits.
            guard loss.fusesSoftmax(outputActivation: .softmax) else { continue }
            let fused = gradient(probabilities(logits), fused: true)
            for k in 0..<classes {
                var plus = logits, minus = logits
                plus[k] += 1e-3; minus[k] -= 1e-3
                let numeric = (value(probabilities(plus), fused: true) - value(probabilities(minus), fused: true)) / 2e-3
                XCTAssertEqual(Double(fused[k]), numeric, accuracy: 2e-3 * max(1, abs(numeric)), "\(name): d loss / d logit \(k)")
            }
        }
    }

    /// `step`: the finite-difference step (smaller for piecewise-linear layers whose kinks are close
    /// together); `avoidZero`: keep inputs at least 0.05 from the kink of ReLU-like activations.
    private func checkLayer(_ layer: any Layer, batch: Int = 2, training: Bool = false, step h: Float = 1e-2,
                            avoidZero: Bool = false, file: StaticString = #filePath, line: UInt = #line) {
        var generator = SeededGenerator(seed: 42)
        func random(_ count: Int) -> [Float] { (0..<count).map { _ in 2 * generator.nextUnitFloat() - 1 } }
        var x = random(batch * layer.inputShape.count)
        if avoidZero { x = x.map { abs($0) < 0.05 ? ($0 < 0 ? -0.05 : 0.05) : $0 } }
        let r = random(batch * layer.outputShape.count)
        var harness = LayerHarness(layer, parameters: random(layer.parameterCount), training: training)
        // Moving statistics away from their initial values, so inference mode is not the identity.
        harness.state = harness.state.enumerated().map { $1 + 0.1 * Float($0 % 3) }
        func objective() -> Double { zip(harness.run(x, batch: batch).y, r).reduce(0) { $0 + Double($1.0) * Double($1.1) } }
        let result = harness.run(x, batch: batch, dy: r)

        func numeric(_ original: Float, _ set: (Float) -> Void) -> Double {
            set(original + h); let plus = objective()
            set(original - h); let minus = objective()
            set(original)
            return (plus - minus) / Double(2 * h)
        }
        for i in 0..<x.count {
            let expected = numeric(x[i]) { x[i] = $0 }
            XCTAssertEqual(Double(result.dx[i]), expected, accuracy: 3e-3 * max(1, abs(expected)),
                           "\(layer.typeName) input gradient \(i)", file: file, line: line)
        }
        for i in 0..<layer.parameterCount {
            let expected = numeric(harness.parameters[i]) { harness.parameters[i] = $0 }
            XCTAssertEqual(result.parameterGradients[i], expected, accuracy: 3e-3 * max(1, abs(expected)),
                           "\(layer.typeName) parameter gradient \(i)", file: file, line: line)
        }
    }
}
