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

    /// A padded window pads one sample at a time into one sample's scratch (`DirectConvolution.scratchCount`),
    /// never writing past it: outputs and kernel gradients for batches of 1, 3 and 5 are the im2col
    /// route's bits (odd sizes, stride 2, uneven padding), and so is the whole layer at batch 3 (its bias
    /// gradients reuse the scratch). The layer's scratch holds one padded sample, not the batch's.
    func testPaddedWindowsRunOneSampleAtATimeInOneSamplesScratch() {
        defer { Matmul.selectKernels("best") }
        let shapes: [(Int, Int, Int, (Int, Int), (Int, Int), Int)] = [
            (9, 13, 16, (3, 3), (1, 1), 40), (17, 19, 12, (3, 3), (2, 2), 24), (10, 12, 8, (2, 4), (1, 1), 19),
            (15, 15, 16, (3, 3), (2, 2), 32), (8, 8, 64, (3, 3), (1, 1), 64),
        ]
        for path in ["portable", "avx2", "avx512", "neon"] where Matmul.selectKernels(path) {
            for (h, w, c, window, strides, f) in shapes {
                let g = try! WindowGeometry(input: TensorShape([h, w, c]), window: window, strides: strides, padding: .same)
                let label = "\(path) \(h)x\(w)x\(c) kernel \(window) strides \(strides) filters \(f)"
                XCTAssertTrue(DirectConvolution.needsCopy(g), label)
                XCTAssertTrue(DirectConvolution.suits(g), label)
                let scratchCount = DirectConvolution.scratchCount(g)
                XCTAssertEqual(scratchCount, DirectConvolution.padded(g)!.inputCount, label)
                for batch in [1, 3, 5] {
                    let rows = batch * g.positions, patch = g.patchLength
                    let x = random(batch * g.inputCount, seed: 91), kernel = random(patch * f, seed: 92)
                    let bias = random(f, seed: 93), dy = random(rows * f, seed: 94)
                    var col = [Float](repeating: .nan, count: rows * patch)
                    Im2Col.im2col(x, batch: batch, geometry: g, &col)
                    var expected = [Float](repeating: 0, count: rows * f), direct = [Float](repeating: .nan, count: rows * f)
                    Matmul.rowwise(m: rows, n: f, k: patch, col, lda: patch, kernel, ldb: f, &expected, ldc: f, bias: bias, relu: true)
                    var scratch = [Float](repeating: .nan, count: scratchCount + 64)
                    DirectConvolution.forward(x, batch: batch, geometry: g, kernel: kernel, filters: f, bias: bias, relu: true,
                                              &direct, scratch: &scratch)
                    assertSameBits(direct.map(\.bitPattern), expected.map(\.bitPattern), "forward batch \(batch) \(label)")
                    XCTAssertTrue(scratch[scratchCount...].allSatisfy(\.isNaN), "forward wrote past its scratch, \(label)")

                    let start = random(patch * f, seed: 95).map { Double($0) * 1e3 }
                    var expectedSums = start, directSums = start
                    Matmul.addWeightGradients(samples: batch, m: patch, n: f, k: g.positions, col, lda: patch,
                                              sampleStrideA: g.positions * patch, dy, ldb: f, sampleStrideB: g.positions * f,
                                              into: &expectedSums, ldc: f)
                    scratch = [Float](repeating: .nan, count: scratchCount + 64)
                    DirectConvolution.addKernelGradients(x: x, dy: dy, batch: batch, geometry: g, filters: f, into: &directSums,
                                                         scratch: &scratch)
                    assertSameBits(directSums.map(\.bitPattern), expectedSums.map(\.bitPattern), "kernel gradient batch \(batch) \(label)")
                    XCTAssertTrue(scratch[scratchCount...].allSatisfy(\.isNaN), "kernel gradient wrote past its scratch, \(label)")
                }
                assertIm2colRouteBits(input: [h, w, c], window: window, strides: strides, padding: .same, filters: f,
                                      useBias: true, batch: 3, seed: 97, label)
            }
        }
        let stage1 = Conv2D(filters: 16, kernelSize: (3, 3), padding: .same).boundForTest([32, 32, 16])
        XCTAssertEqual(stage1.route, "direct")
        XCTAssertEqual(stage1.scratchCount(batch: 64), 34 * 34 * 16 + 64 * 16)
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
