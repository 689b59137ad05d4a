import ConvNetCore
import TestSupport
import XCTest

extension XCTestCase {
    /// Equal arrays, or one failure naming the first element that differs (not two whole arrays).
    func assertSameBits<T: FixedWidthInteger>(_ actual: [T], _ expected: [T], _ what: String,
                                              file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, what, file: file, line: line)
        if let i = actual.indices.first(where: { $0 < expected.count && actual[$0] != expected[$0] }) {
            XCTFail("\(what): element \(i) differs (\(actual[i]) against \(expected[i]))", file: file, line: line)
        }
    }
}

/// The im2col route's input gradient, the bits every convolution route must give:
/// `dx = col2im(dY * K^T)` for an HWIO `kernel` of `geometry.patchLength x filters`; also returns `K^T`.
func im2colInputGradient(dy: [Float], kernel: [Float], batch: Int, geometry g: WindowGeometry,
                         filters f: Int) -> (dx: [Float], kernelTransposed: [Float]) {
    let rows = batch * g.positions, patch = g.patchLength
    var kernelTransposed = [Float](repeating: 0, count: patch * f)
    Matmul.transpose(kernel, rows: patch, columns: f, into: &kernelTransposed)
    var colGradient = [Float](repeating: 0, count: rows * patch)
    Matmul.rowwise(m: rows, n: patch, k: f, dy, lda: f, kernelTransposed, ldb: patch, &colGradient, ldc: patch)
    var dx = [Float](repeating: 0, count: batch * g.inputCount)
    Im2Col.col2im(colGradient, batch: batch, geometry: g, &dx)
    return (dx, kernelTransposed)
}

extension XCTestCase {
    /// A `Conv2D` of that shape (run by `LayerHarness`, so on whatever route it takes) against
    /// the im2col route, bit for bit: the output (im2col and the row-wise kernel), the kernel and bias
    /// gradients (per sample, summed in Double) and the input gradient (col2im).
    func assertIm2colRouteBits(input: [Int], window: (Int, Int), strides: (Int, Int), padding: Padding, filters f: Int,
                               useBias: Bool, batch: Int, seed: UInt64, inputGradientNeeded: Bool = true, _ label: String,
                               file: StaticString = #filePath, line: UInt = #line) {
        let g = try! WindowGeometry(input: TensorShape(input), window: window, strides: strides, padding: padding)
        func random(_ count: Int, seed: UInt64) -> [Float] {
            var generator = SeededGenerator(seed: seed)
            return (0..<count).map { _ in 2 * generator.nextUnitFloat() - 1 }
        }
        let bound = Conv2D(filters: f, kernelSize: window, strides: strides, padding: padding, activation: .linear,
                           useBias: useBias).boundForTest(input)
        let layer = inputGradientNeeded ? bound : bound.withoutInputGradient()
        let rows = batch * g.positions, patch = g.patchLength, colStride = patch + (useBias ? 1 : 0)
        let x = random(batch * g.inputCount, seed: seed), kernel = random(patch * f, seed: seed + 1)
        let bias = random(f, seed: seed + 2), dy = random(rows * f, seed: seed + 3)
        let result = LayerHarness(layer, parameters: kernel + (useBias ? bias : []), training: true).run(x, batch: batch, dy: dy)

        var col = [Float](repeating: .nan, count: rows * colStride)
        Im2Col.im2col(x, batch: batch, geometry: g, onesColumn: useBias, &col)
        var y = [Float](repeating: 0, count: rows * f)
        Matmul.rowwise(m: rows, n: f, k: patch, col, lda: colStride, kernel, ldb: f, &y, ldc: f, bias: useBias ? bias : nil)
        assertSameBits(result.y.map(\.bitPattern), y.map(\.bitPattern), "forward \(label)", file: file, line: line)

        var gradients = [Double](repeating: 0, count: colStride * f)
        Matmul.addWeightGradients(samples: batch, m: colStride, n: f, k: g.positions, col, lda: colStride,
                                  sampleStrideA: g.positions * colStride, dy, ldb: f, sampleStrideB: g.positions * f,
                                  into: &gradients, ldc: f)
        assertSameBits(result.parameterGradients.map(\.bitPattern), gradients.map(\.bitPattern), "gradients \(label)", file: file, line: line)

        let dx = im2colInputGradient(dy: dy, kernel: kernel, batch: batch, geometry: g, filters: f).dx
        assertSameBits(result.dx.map(\.bitPattern), dx.map(\.bitPattern), "input gradient \(label)", file: file, line: line)
    }
}

/// Batches of sample `n` = `images[n * pixels ..< (n + 1) * pixels]`, labelled `(7 n) mod classes`,
/// for training the same fixed data twice and comparing the bits.
func fixedBatchFiller(_ images: [Float], pixels: Int, classes: Int) -> BatchFiller {
    { range, x, labels, ids in
        for (slot, n) in range.enumerated() {
            for i in 0..<pixels { x[slot * pixels + i] = images[n * pixels + i] }
            labels[slot] = Int32((n * 7) % classes)
            ids[slot] = Int64(n)
        }
    }
}
