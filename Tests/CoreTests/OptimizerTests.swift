import ConvNetCore
import XCTest

/// One step of each optimizer on two weights, against values worked out by hand (in the comments).
final class OptimizerTests: XCTestCase {
    /// `optimizer` with hyper-parameters other than Keras's defaults.
    private func with<O: Optimizer>(_ optimizer: O, _ change: (O) -> Void) -> O {
        change(optimizer)
        return optimizer
    }

    private func step(_ optimizer: any Optimizer, weights: [Float], gradients: [Float], steps: Int = 1) -> [Float] {
        var w = weights
        for _ in 0..<steps { optimizer.step(parameters: &w, gradients: gradients, count: w.count) }
        return w
    }

    func testRMSpropStep() {
        // rms = 0.1 * g^2 = [0.025, 0.00004]; w - 0.001 * g / sqrt(rms + 1e-7)
        //   = 1 - 0.0005 / 0.158114... = 0.99683772;   -2 + 0.00002 / 0.0063253458 = -1.99684167
        let w = step(RMSprop(parameterCount: 2), weights: [1, -2], gradients: [0.5, -0.02])
        XCTAssertEqual(w[0], 0.99683772, accuracy: 1e-7)
        XCTAssertEqual(w[1], -1.99684167, accuracy: 1e-6)
    }

    func testSGDStepPlainMomentumAndNesterov() {
        // plain: w - 0.1 * g = [0.95, -1.998]
        XCTAssertEqual(step(with(SGD(parameterCount: 2)) { $0.learningRate = 0.1 }, weights: [1, -2], gradients: [0.5, -0.02]),
                       [0.95, -1.998])
        // momentum 0.9, two steps: v1 = -0.05, w1 = 0.95; v2 = 0.9 * -0.05 - 0.05 = -0.095, w2 = 0.855
        let momentum = step(with(SGD(parameterCount: 1)) { $0.learningRate = 0.1; $0.momentum = 0.9 }, weights: [1], gradients: [0.5], steps: 2)
        XCTAssertEqual(momentum[0], 0.855, accuracy: 1e-6)
        // nesterov, one step: v = -0.05; w += 0.9 * v - 0.1 * g = 1 - 0.045 - 0.05 = 0.905
        let nesterov = step(with(SGD(parameterCount: 1)) { $0.learningRate = 0.1; $0.momentum = 0.9; $0.nesterov = true }, weights: [1], gradients: [0.5])
        XCTAssertEqual(nesterov[0], 0.905, accuracy: 1e-6)
    }

    func testAdamStep() {
        // t = 1: alpha = 0.001 * sqrt(0.001) / 0.1 = 3.16227766e-4; m = 0.1 g, v = 0.001 g^2
        // w -= alpha * m / (sqrt(v) + 1e-7): for g = 0.5: m = 0.05, sqrt(v) = 0.0158113883 -> 0.99900001
        let w = step(Adam(parameterCount: 2), weights: [1, -2], gradients: [0.5, -0.02])
        XCTAssertEqual(w[0], 0.99900001, accuracy: 1e-7)
        XCTAssertEqual(w[1], -1.99900016, accuracy: 1e-6)
    }

    func testWeightDecayComesFirstAtTheStepsLearningRate() {
        // Keras 3: w -= w * wd * lr before the update. SGD lr 0.1, wd 0.5: w = 1 - 0.05 = 0.95, then - 0.1 * 0.5 = 0.9
        let sgd = with(SGD(parameterCount: 2)) { $0.learningRate = 0.1; $0.weightDecay = 0.5 }
        let decayed = step(sgd, weights: [1, -2], gradients: [0.5, 0])
        XCTAssertEqual(decayed[0], 0.9, accuracy: 1e-7)
        XCTAssertEqual(decayed[1], -1.9, accuracy: 2e-7)
        // The decay follows the learning rate a schedule sets for the step: lr 0.01 now, w = 1 - 0.005 - 0.005
        sgd.learningRate = 0.01
        XCTAssertEqual(step(sgd, weights: [1], gradients: [0.5])[0], 0.99, accuracy: 1e-7)
        // AdamW is Adam after a decay of 0.004 * lr by default; Adam without weight_decay does not decay.
        let adamW = step(AdamW(parameterCount: 2), weights: [1, -2], gradients: [0.5, -0.02])
        let adam = step(Adam(parameterCount: 2), weights: [1 - 1 * 0.004 * 0.001, -2 - -2 * 0.004 * 0.001], gradients: [0.5, -0.02])
        XCTAssertEqual(adamW, adam)
        XCTAssertNil(Adam(parameterCount: 1).weightDecay)
        XCTAssertEqual(AdamW(parameterCount: 1).weightDecay, 0.004)
    }

    /// `weight_decay` is written only when set (Keras's None), reads back, and must be at least 0.
    func testWeightDecayKey() throws {
        XCTAssertFalse(OptimizerSpec(SGD(parameterCount: 0)).config.contains { $0.key == "weight_decay" })
        let table = ConfigTable([ConfigEntry("name", .string("sgd")), ConfigEntry("weight_decay", .number(0.0005))], path: "optimizer")
        let spec = try OptimizerSpec(config: table)
        XCTAssertEqual(spec.config.last, ConfigEntry("weight_decay", .float(0.0005)))
        XCTAssertEqual(spec.make(parameterCount: 1).weightDecay, 0.0005)
        XCTAssertEqual(OptimizerSpec(spec.make(parameterCount: 1)), spec)
        XCTAssertEqual(try OptimizerSpec(named: "adamw", key: "test").config.map(\.key), ["learning_rate", "weight_decay", "beta_1", "beta_2", "epsilon"])
        let negative = ConfigTable([ConfigEntry("name", .string("adam")), ConfigEntry("weight_decay", .number(-0.1))], path: "optimizer")
        XCTAssertThrowsError(try OptimizerSpec(config: negative)) { error in
            XCTAssertEqual("\(error)", "optimizer.weight_decay must be a number at least 0 (0.004 is AdamW's default), got -0.1")
        }
    }

    /// Training updates parameter slices on several threads and then finishes the step: that must
    /// give the bits (weights, state, iterations) of one whole step, whatever the slices' order.
    func testSlicedStepsGiveTheBitsOfWholeSteps() {
        let count = 37
        let weights = (0..<count).map { Float($0) / 7 - 2 }
        for spec in [OptimizerSpec(RMSprop(parameterCount: 0)), OptimizerSpec(with(SGD(parameterCount: 0)) { $0.learningRate = 0.1; $0.momentum = 0.9; $0.nesterov = true }),
                     OptimizerSpec(Adam(parameterCount: 0)), OptimizerSpec(AdamW(parameterCount: 0)),
                     OptimizerSpec(with(RMSprop(parameterCount: 0)) { $0.weightDecay = 0.1 })] {
            let whole = spec.make(parameterCount: count), sliced = spec.make(parameterCount: count)
            var w1 = weights, w2 = weights
            for step in 0..<3 {
                let gradients = (0..<count).map { Float(($0 * 7 + step * 3) % 11) / 10 - 0.5 }
                whole.step(parameters: &w1, gradients: gradients, count: count)
                for range in [20..<count, 0..<5, 5..<20] { sliced.update(parameters: &w2, gradients: gradients, range: range) }
                sliced.finishStep()
            }
            XCTAssertEqual(w2.map(\.bitPattern), w1.map(\.bitPattern), spec.name)
            XCTAssertEqual(sliced.iterations, whole.iterations, spec.name)
            for (a, b) in zip(sliced.state, whole.state) {
                XCTAssertEqual(a.buffer.array.map(\.bitPattern), b.buffer.array.map(\.bitPattern), "\(spec.name) \(a.name)")
            }
        }
    }

    func testOptimizerStateIsNamedForCheckpoints() {
        XCTAssertEqual(RMSprop(parameterCount: 3).state.map(\.name), ["rms"])
        XCTAssertEqual(Adam(parameterCount: 3).state.map(\.name), ["m", "v"])
        XCTAssertEqual(SGD(parameterCount: 3).state.map(\.name), ["momentum"])
        XCTAssertEqual(AdamW(parameterCount: 3).state.map(\.name), ["m", "v"], "AdamW's state is Adam's")
    }

    /// A spec's keys are the kind's own: they read back to the same optimizer (`make` relies on it),
    /// Keras 3's defaults fill the keys not given, and the learning rate can be replaced.
    func testEveryKindReadsBackWhatItWrites() throws {
        XCTAssertEqual(OptimizerSpec.registry.names, ["rmsprop", "sgd", "adam", "adamw"])
        for kind in OptimizerSpec.registry.kinds {
            let defaults = try OptimizerSpec(named: kind.name, key: "test")
            XCTAssertEqual(defaults.kind.name, kind.name)
            let odd = defaults.config.map { entry -> ConfigEntry in
                switch entry.value {
                case let .number(d): return ConfigEntry(entry.key, .number(d == 0 ? 0.3 : d * 0.7))
                case let .bool(b): return ConfigEntry(entry.key, .bool(!b))
                default: return entry
                }
            }
            var spec = try OptimizerSpec(config: ConfigTable([ConfigEntry("name", .string(kind.name))] + odd, path: "optimizer"))
            XCTAssertEqual(spec.config.map(\.key), odd.map(\.key), kind.name)
            XCTAssertEqual(OptimizerSpec(spec.make(parameterCount: 4)), spec, kind.name)
            XCTAssertNotEqual(spec, defaults, kind.name)
            spec.learningRate = 0.125
            XCTAssertEqual(spec.make(parameterCount: 1).learningRate, 0.125, kind.name)
            XCTAssertEqual(spec.config.first, ConfigEntry("learning_rate", .number(0.125)), kind.name)
        }
        XCTAssertThrowsError(try OptimizerSpec(named: "lamb", key: "--optimizer")) { error in
            XCTAssertEqual("\(error)", "--optimizer: unknown optimizer \"lamb\" (expected one of rmsprop, sgd, adam, adamw)")
        }
    }
}
