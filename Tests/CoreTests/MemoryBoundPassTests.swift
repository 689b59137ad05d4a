import ConvNetCore
import TestSupport
import XCTest

/// Batch norm's and ReLU's vectorised passes give the bits of the scalar loops that define them
/// (`ReferenceKernels.batchNormTraining`, `x > 0 ? x : 0`), for channel counts that fill vectors and that leave tails.
final class MemoryBoundPassTests: XCTestCase {
    private func random(_ count: Int, seed: UInt64) -> [Float] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { _ in 2 * generator.nextUnitFloat() - 1 }
    }

    private func assertSameBits(_ actual: [Float], _ expected: [Float], _ what: String,
                                file: StaticString = #filePath, line: UInt = #line) {
        assertSameBits(actual.map { Double($0) }, expected.map { Double($0) }, what, file: file, line: line)
    }

    /// Float converts to Double exactly (NaN stays NaN, -0 stays -0), so this compares Float bits too.
    private func assertSameBits(_ actual: [Double], _ expected: [Double], _ what: String,
                                file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, what, file: file, line: line)
        if let i = actual.indices.first(where: { $0 < expected.count && actual[$0].bitPattern != expected[$0].bitPattern }) {
            XCTFail("\(what): element \(i) differs (\(actual[i]) against \(expected[i]))", file: file, line: line)
        }
    }

    func testBatchNormTrainingPassesMatchTheScalarLoops() {
        for (shape, batch) in [([32, 32, 16], 3), ([5, 7, 12], 4), ([4, 4, 64], 2), ([5], 6), ([3, 3, 37], 3), ([3, 3, 32], 5)] {
            let layer = BatchNorm(epsilon: 0.001).boundForTest(shape)
            let c = shape.last!, count = batch * shape.reduce(1, *), label = "\(shape) batch \(batch)"
            let x = random(count, seed: 81).map { $0 * 3 + 0.5 }, dy = random(count, seed: 82)
            let gamma = random(c, seed: 83).map { $0 + 1.5 }, beta = random(c, seed: 84)
            let result = LayerHarness(layer, parameters: gamma + beta, training: true).run(x, batch: batch, dy: dy)
            let reference = ReferenceKernels.batchNormTraining(x: x, dy: dy, batch: batch, positions: count / (batch * c), channels: c,
                                                               gamma: gamma, beta: beta, epsilon: 0.001)
            assertSameBits(result.y, reference.y, "forward \(label)")
            assertSameBits(result.dx, reference.dx, "input gradient \(label)")
            assertSameBits(result.parameterGradients, reference.dGamma + reference.dBeta, "gamma and beta gradients \(label)")
        }
    }

    func testReLULayerMatchesItsDefinition() {
        let layer = ActivationLayer(.relu).boundForTest([3, 5, 7])
        var x = random(2 * 105, seed: 85)
        x[3] = -0.0
        x[4] = .nan
        x[5] = 0
        let dy = random(x.count, seed: 86)
        let result = LayerHarness(layer, parameters: []).run(x, batch: 2, dy: dy)
        let y = x.map { $0 > 0 ? $0 : 0 }
        assertSameBits(result.y, y, "forward")
        assertSameBits(result.dx, zip(y, dy).map { $0.0 > 0 ? $0.1 : 0 }, "backward")
    }
}
