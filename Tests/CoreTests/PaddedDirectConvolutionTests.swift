import ConvNetCore
import TestSupport
import XCTest

/// A "same"-padded stride-1 `Conv2D` runs direct on a zero-padded copy of its input; its outputs,
/// kernel and bias gradients and input gradient must be the im2col route's bits (im2col with zeros in
/// the padding, the row-wise kernel, col2im dropping the padding), on every kernel path.
final class PaddedDirectConvolutionTests: XCTestCase {
    private func random(_ count: Int, seed: UInt64) -> [Float] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { _ in 2 * generator.nextUnitFloat() - 1 }
    }

    /// Shapes: ResNet-20's three stages; 12 and 24 channels and 40 filters (column tails) with output
    /// rows of 13 (partial row blocks); even windows, which pad more below and right than above and left.
    func testSamePaddedConvolutionGivesTheIm2colRoutesBits() {
        defer { Matmul.selectKernels("best") }
        for path in ["portable", "avx2", "avx512", "neon"] where Matmul.selectKernels(path) {
            for (h, w, c, kh, kw, f, useBias) in [(32, 32, 16, 3, 3, 16, false), (8, 8, 64, 3, 3, 64, true),
                                                  (9, 13, 12, 3, 3, 40, true), (10, 12, 8, 2, 4, 19, false),
                                                  (7, 11, 16, 5, 5, 8, true), (16, 16, 32, 3, 3, 32, true),
                                                  (10, 21, 24, 3, 3, 5, false)] {
                let batch = 2, label = "\(path) \(h)x\(w)x\(c) kernel \(kh)x\(kw) filters \(f) bias \(useBias)"
                let g = try! WindowGeometry(input: TensorShape([h, w, c]), window: (kh, kw), strides: (1, 1), padding: .same)
                XCTAssertFalse(g.hasNoPadding, label)
                XCTAssertTrue(DirectConvolution.suits(g), label)
                assertIm2colRouteBits(input: [h, w, c], window: (kh, kw), strides: (1, 1), padding: .same, filters: f,
                                      useBias: useBias, batch: batch, seed: 71, label)
            }
        }
    }

    /// `crop` undoes `pad`, and `pad` puts zeros everywhere around the picture.
    func testPadAndCropAreInverse() {
        for (h, w, c, kh, kw) in [(5, 7, 3, 3, 3), (4, 6, 2, 2, 4), (3, 3, 1, 5, 5)] {
            let g = try! WindowGeometry(input: TensorShape([h, w, c]), window: (kh, kw), strides: (1, 1), padding: .same)
            let p = DirectConvolution.padded(g)!, batch = 2
            let x = random(batch * g.inputCount, seed: 75).map { $0 + 3 }   // no zeros
            var padded = [Float](repeating: .nan, count: DirectConvolution.paddedCount(g, batch: batch))
            DirectConvolution.pad(x, batch: batch, geometry: g, &padded)
            XCTAssertEqual(padded.count, batch * p.inputCount)
            XCTAssertEqual(padded.filter { $0 == 0 }.count, batch * (p.inputCount - g.inputCount), "\(h)x\(w) window \(kh)x\(kw)")
            XCTAssertEqual(padded.filter { $0 != 0 }, x, "\(h)x\(w) window \(kh)x\(kw)")
            var back = [Float](repeating: .nan, count: x.count)
            DirectConvolution.crop(padded, batch: batch, geometry: g, &back)
            XCTAssertEqual(back, x)
        }
    }
}
