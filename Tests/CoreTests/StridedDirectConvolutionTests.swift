import ConvNetCore
import TestSupport
import XCTest

/// Strided convolutions and 1x1 projections run direct (on the input itself or on its zero-padded
/// copy); their outputs, kernel and bias gradients and input gradient must be the
/// im2col route's bits (im2col, the row-wise kernel, col2im), on every kernel path.
final class StridedDirectConvolutionTests: XCTestCase {
    private func random(_ count: Int, seed: UInt64) -> [Float] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { _ in 2 * generator.nextUnitFloat() - 1 }
    }

    /// Shapes: ResNet-20's stride-2 3x3 convolutions and its 1x1 stride-2 projections; odd
    /// sizes (padding above and left too, trailing rows no window reads), unequal strides, a 5x5 window,
    /// a 1x3 window that pads only along the width, column tails (12 channels, 40 and 5 filters).
    func testStridedAndStemConvolutionsGiveTheIm2colRoutesBits() {
        defer { Matmul.selectKernels("best") }
        let shapes: [(Int, Int, Int, (Int, Int), (Int, Int), Padding, Int, Bool)] = [
            (32, 32, 16, (3, 3), (2, 2), .same, 32, false), (16, 16, 32, (3, 3), (2, 2), .same, 64, false),
            (32, 32, 16, (1, 1), (2, 2), .valid, 32, false), (16, 16, 32, (1, 1), (2, 2), .same, 64, true),
            (17, 19, 12, (3, 3), (2, 2), .same, 40, true),
            (16, 28, 8, (3, 3), (2, 3), .valid, 5, false), (21, 20, 16, (5, 5), (2, 2), .same, 8, true),
            (16, 18, 16, (1, 3), (2, 2), .same, 16, false),
            (20, 20, 32, (1, 1), (2, 2), .valid, 16, false),
        ]
        for path in ["portable", "avx2", "avx512", "neon"] where Matmul.selectKernels(path) {
            for (h, w, c, window, strides, padding, f, useBias) in shapes {
                let batch = 2
                let label = "\(path) \(h)x\(w)x\(c) kernel \(window) strides \(strides) \(padding) filters \(f) bias \(useBias)"
                let g = try! WindowGeometry(input: TensorShape([h, w, c]), window: window, strides: strides, padding: padding)
                XCTAssertTrue(DirectConvolution.suits(g), label)
                assertIm2colRouteBits(input: [h, w, c], window: window, strides: strides, padding: padding, filters: f,
                                      useBias: useBias, batch: batch, seed: 81, label)
            }
        }
    }

    /// The reference model's conv1 (one channel) and conv3 (output rows of 3) keep im2col; so do stems
    /// on 1 to 4 channels, strided or not (an input gradient of so few channels is slow on the direct
    /// route without AVX-512's masked lanes).
    func testShortKernelRowsKeepIm2col() {
        for (h, c, strides, padding) in [(28, 1, 1, Padding.valid), (5, 64, 1, .valid), (28, 1, 2, .same), (32, 2, 1, .same),
                                         (32, 3, 1, .same), (32, 3, 2, .same), (17, 4, 1, .same)] {
            let g = try! WindowGeometry(input: TensorShape([h, h, c]), window: (3, 3), strides: (strides, strides), padding: padding)
            XCTAssertFalse(DirectConvolution.suits(g), "\(h)x\(h)x\(c) strides \(strides) \(padding)")
        }
    }

    /// A first layer, whose input gradient backward never asks for, runs direct from kernel rows of 8
    /// floats: stems on 2-8 channels, windows 1x1-7x7, "same" and "valid", strided or not, with the im2col route's
    /// outputs and kernel and bias gradients (and, asked anyway, its input gradient) on every kernel
    /// path. On one channel (the reference model's conv1) it keeps im2col.
    func testFirstLayersRunDirectWithTheIm2colRoutesBits() {
        defer { Matmul.selectKernels("best") }
        let oneChannel = Conv2D(filters: 32, kernelSize: (3, 3)).boundForTest([28, 28, 1]).withoutInputGradient()
        XCTAssertEqual(oneChannel.route, "im2col")
        let shapes: [(Int, Int, Int, Int, Int, Padding, Int, Bool)] = [   // h, w, c, window, stride, padding, filters, bias
            (32, 32, 3, 3, 1, .same, 16, true), (28, 28, 3, 3, 1, .valid, 32, true), (32, 32, 3, 3, 2, .same, 16, false),
            (19, 17, 4, 3, 1, .same, 5, true), (32, 32, 3, 7, 2, .same, 8, true), (20, 21, 2, 5, 1, .valid, 9, false),
            (32, 32, 8, 1, 2, .valid, 16, true),
        ]
        for path in ["portable", "avx2", "avx512", "neon"] where Matmul.selectKernels(path) {
            for (h, w, c, k, stride, padding, f, useBias) in shapes {
                let label = "\(path) \(h)x\(w)x\(c) window \(k) strides \(stride) \(padding) filters \(f) bias \(useBias)"
                let layer = Conv2D(filters: f, kernelSize: (k, k), strides: (stride, stride), padding: padding).boundForTest([h, w, c])
                XCTAssertEqual(layer.route, "im2col", label)
                XCTAssertEqual(layer.withoutInputGradient().route, "direct", label)
                assertIm2colRouteBits(input: [h, w, c], window: (k, k), strides: (stride, stride), padding: padding, filters: f,
                                      useBias: useBias, batch: 2, seed: 87, inputGradientNeeded: false, label)
            }
        }
    }

    /// `Sequential` tells the convolutions below which no gradient flows (the first with parameters,
    /// and any reading only the model's input) that they need none; the others keep their route.
    func testModelsFirstConvolutionNeedsNoInputGradient() throws {
        let layers: [any Layer] = [Rescaling(scale: 0.5, offset: 0), Conv2D(filters: 3, kernelSize: (3, 3), padding: .same),
                                   Conv2D(filters: 4, kernelSize: (3, 3), padding: .same), Flatten(), Dense(units: 10)]
        let model = try Sequential(ModelSpec(inputShape: TensorShape([16, 16, 3]), classes: 10, layers: layers))
        let convolutions = model.layers.compactMap { $0 as? Conv2D }
        XCTAssertEqual(convolutions.map(\.inputGradientNeeded), [false, true])
        XCTAssertEqual(convolutions.map(\.route), ["direct", "im2col"])
    }

    /// A strided window's padded copy: `padTop` rows above and `padLeft` columns left, as many below and
    /// right as the last window needs, and `crop` undoes `pad`.
    func testStridedPadAndCropAreInverse() {
        for (h, w, window, strides) in [(32, 32, (3, 3), (2, 2)), (17, 19, (3, 3), (2, 2)), (16, 18, (1, 3), (2, 2))] {
            let g = try! WindowGeometry(input: TensorShape([h, w, 3]), window: window, strides: strides, padding: .same)
            XCTAssertTrue(DirectConvolution.needsCopy(g))
            let p = DirectConvolution.padded(g)!, batch = 2
            XCTAssertEqual([p.outHeight, p.outWidth], [g.outHeight, g.outWidth])
            XCTAssertEqual([p.height, p.width], [max(h, (g.outHeight - 1) * strides.0 + window.0 - g.padTop) + g.padTop,
                                                 max(w, (g.outWidth - 1) * strides.1 + window.1 - g.padLeft) + g.padLeft])
            let x = random(batch * g.inputCount, seed: 85).map { $0 + 3 }   // no zeros
            var padded = [Float](repeating: .nan, count: DirectConvolution.paddedCount(g, batch: batch))
            DirectConvolution.pad(x, batch: batch, geometry: g, &padded)
            XCTAssertEqual(padded.filter { $0 != 0 }, x)
            var back = [Float](repeating: .nan, count: x.count)
            DirectConvolution.crop(padded, batch: batch, geometry: g, &back)
            XCTAssertEqual(back, x)
        }
        let projection = try! WindowGeometry(input: TensorShape([32, 32, 16]), window: (1, 1), strides: (2, 2), padding: .same)
        XCTAssertFalse(DirectConvolution.needsCopy(projection), "a 1x1 stride-2 window reads the input itself")
        XCTAssertEqual(DirectConvolution.paddedCount(projection, batch: 4), 0)
    }
}
