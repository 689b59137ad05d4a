import ConvNetConfig
import ConvNetCore
import TestSupport
import XCTest

/// Winograd F(2x2, 3x3) (`convolution = "winograd"`): the fast kernel against the naive one bit for
/// bit on every kernel path, against direct convolution within a stated tolerance, its gradients
/// against finite differences (GradientCheckTests), and results that depend on the sample alone.
final class WinogradTests: XCTestCase {
    private func random(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { _ in scale * (2 * generator.nextUnitFloat() - 1) }
    }

    private func firstDifference(_ a: [Float], _ b: [Float]) -> String? {
        if a.count != b.count { return "\(a.count) elements against \(b.count)" }
        return a.indices.first { a[$0].bitPattern != b[$0].bitPattern }.map { "element \($0): \(a[$0]) against \(b[$0])" }
    }

    /// max |a - b| / max |b|.
    private func relativeError(_ a: [Float], _ b: [Float]) -> Double {
        let scale = b.reduce(0.0) { max($0, Double(abs($1))) }
        return zip(a, b).reduce(0.0) { max($0, Double(abs($1.0 - $1.1))) } / max(scale, 1e-30)
    }

    /// Shapes: ResNet-20's stage 1 and 3; odd outputs (edge tiles) under "same" and "valid"; 40
    /// channels and filters (vector tails, and tiles in more than one block); one channel; 32 channels
    /// (a constant channel count of the products) with a tile count no multiple of their row block.
    private let shapes: [(h: Int, w: Int, c: Int, f: Int, padding: Padding)] = [
        (32, 32, 16, 16, .same), (8, 8, 64, 64, .same), (7, 9, 5, 6, .same), (7, 6, 3, 4, .valid),
        (11, 13, 40, 40, .same), (5, 5, 1, 3, .valid), (9, 10, 32, 32, .same),
    ]

    func testFastKernelGivesTheNaiveKernelsBitsOnEveryPath() {
        defer { Matmul.selectKernels("best") }
        for path in ["portable", "avx2", "avx512", "neon"] where Matmul.selectKernels(path) {
            for s in shapes {
                let batch = 3, label = "\(path) \(s)"
                let g = try! WindowGeometry(input: TensorShape([s.h, s.w, s.c]), window: (3, 3), strides: (1, 1), padding: s.padding)
                let x = random(batch * g.inputCount, seed: 71), kernel = random(9 * s.c * s.f, seed: 72, scale: 0.3)
                let bias = random(s.f, seed: 73), dy = random(batch * g.positions * s.f, seed: 74)
                var prepared = [Float](repeating: 0, count: WinogradConvolution.preparedCount(channels: s.c, filters: s.f))
                WinogradConvolution.prepare(kernel: kernel, channels: s.c, filters: s.f, into: &prepared)
                var scratch = [Float](repeating: .nan, count: WinogradConvolution.scratchCount(geometry: g, filters: s.f, batch: batch))
                for (withBias, relu) in [(true, true), (false, false)] {
                    var y = [Float](repeating: .nan, count: batch * g.positions * s.f)
                    WinogradConvolution.forward(x, batch: batch, geometry: g, kernel: kernel, filters: s.f,
                                                bias: withBias ? bias : nil, relu: relu, &y, scratch: &scratch)
                    let expected = WinogradReference.convolution(
                        x: x, batch: batch, height: s.h, width: s.w, channels: s.c, pad: g.padTop, outHeight: g.outHeight,
                        outWidth: g.outWidth, kernel: kernel, filters: s.f, bias: withBias ? bias : nil, relu: relu)
                    XCTAssertNil(firstDifference(y, expected), "forward, bias \(withBias), \(label)")
                }
                var dx = [Float](repeating: .nan, count: batch * g.inputCount)
                WinogradConvolution.inputGradient(dy: dy, batch: batch, geometry: g, prepared: prepared, filters: s.f, &dx, scratch: &scratch)
                let expected = WinogradReference.convolution(
                    x: dy, batch: batch, height: g.outHeight, width: g.outWidth, channels: s.f, pad: 2 - g.padTop,
                    outHeight: s.h, outWidth: s.w, kernel: WinogradReference.flipped(kernel, channels: s.c, filters: s.f),
                    filters: s.c, bias: nil, relu: false)
                XCTAssertNil(firstDifference(dx, expected), "input gradient \(label)")

                var dKernel = [Double](repeating: 0.25, count: 9 * s.c * s.f)
                WinogradConvolution.addKernelGradients(x: x, dy: dy, batch: batch, geometry: g, filters: s.f, into: &dKernel,
                                                       scratch: &scratch)
                var expectedKernel = [Double](repeating: 0.25, count: 9 * s.c * s.f)
                WinogradReference.kernelGradient(
                    x: x, dy: dy, batch: batch, height: s.h, width: s.w, channels: s.c, pad: g.padTop, outHeight: g.outHeight,
                    outWidth: g.outWidth, filters: s.f, tileBlock: WinogradConvolution.gradientTileBlock(
                        channels: s.c, filters: s.f, tiles: (g.outHeight + 1) / 2 * ((g.outWidth + 1) / 2)),
                    into: &expectedKernel)
                XCTAssertEqual(dKernel.map(\.bitPattern), expectedKernel.map(\.bitPattern), "kernel gradient \(label)")
            }
        }
    }

    /// The kernel gradient against sums in Double over every output (the definition), within a tolerance
    /// relative to the largest element: shapes whose samples span several tile blocks, and many samples.
    func testKernelGradientMatchesDoubleSums() {
        for s in shapes + [(h: 40, w: 38, c: 24, f: 20, padding: .same)] {
            let batch = 3
            let g = try! WindowGeometry(input: TensorShape([s.h, s.w, s.c]), window: (3, 3), strides: (1, 1), padding: s.padding)
            let x = random(batch * g.inputCount, seed: 75), dy = random(batch * g.positions * s.f, seed: 76)
            var scratch = [Float](repeating: .nan, count: WinogradConvolution.scratchCount(geometry: g, filters: s.f, batch: batch))
            var dKernel = [Double](repeating: 0, count: 9 * s.c * s.f)
            WinogradConvolution.addKernelGradients(x: x, dy: dy, batch: batch, geometry: g, filters: s.f, into: &dKernel,
                                                   scratch: &scratch)
            var exact = [Double](repeating: 0, count: 9 * s.c * s.f)
            for n in 0..<batch {
                for oy in 0..<g.outHeight {
                    for ox in 0..<g.outWidth {
                        for a in 0..<3 {
                            for b in 0..<3 {
                                let row = oy - g.padTop + a, column = ox - g.padTop + b
                                guard row >= 0 && row < s.h && column >= 0 && column < s.w else { continue }
                                for c in 0..<s.c {
                                    let input = Double(x[((n * s.h + row) * s.w + column) * s.c + c])
                                    for k in 0..<s.f {
                                        exact[((a * 3 + b) * s.c + c) * s.f + k] +=
                                            input * Double(dy[((n * g.outHeight + oy) * g.outWidth + ox) * s.f + k])
                                    }
                                }
                            }
                        }
                    }
                }
            }
            let scale = exact.reduce(0.0) { max($0, abs($1)) }
            let error = zip(dKernel, exact).reduce(0.0) { max($0, abs($1.0 - $1.1)) } / scale
            // Float sums over up to 380 tiles of values up to 4 * 4 in size: a few units of Float's
            // 6e-8 relative rounding per term, far below 1e-5 of the largest sum.
            XCTAssertLessThan(error, 1e-5, "\(s)")
        }
    }

    /// Against the direct path through the layer: outputs, input and kernel gradients within a
    /// tolerance, bias gradients (the same column sums) bit for bit.
    /// Inputs like a trained network's: activations in [-1, 1], Glorot-scaled kernels.
    func testWinogradMatchesDirectConvolutionWithinTolerance() {
        var worst = (forward: 0.0, input: 0.0), worstKernel = 0.0
        for s in shapes {
            let batch = 4, label = "\(s)"
            func layer(_ algorithm: ConvolutionAlgorithm) -> Conv2D {
                Conv2D(filters: s.f, kernelSize: (3, 3), padding: s.padding, convolution: algorithm).boundForTest([s.h, s.w, s.c])
            }
            let direct = layer(.direct), winograd = layer(.winograd)
            let limit = Float((6.0 / Double(9 * (s.c + s.f))).squareRoot())
            let parameters = random(9 * s.c * s.f, seed: 81, scale: limit) + random(s.f, seed: 82, scale: 0.1)
            let x = random(batch * s.h * s.w * s.c, seed: 83), dy = random(batch * direct.outputShape.count, seed: 84)
            let a = LayerHarness(direct, parameters: parameters).run(x, batch: batch, dy: dy)
            let b = LayerHarness(winograd, parameters: parameters).run(x, batch: batch, dy: dy)
            let forward = relativeError(b.y, a.y), input = relativeError(b.dx, a.dx)
            worst = (max(worst.forward, forward), max(worst.input, input))
            XCTAssertLessThan(forward, 2e-6, "forward \(label)")
            XCTAssertLessThan(input, 2e-6, "input gradient \(label)")
            let kernelCount = 9 * s.c * s.f
            let kernelGradient = relativeError(b.parameterGradients.prefix(kernelCount).map { Float($0) },
                                               a.parameterGradients.prefix(kernelCount).map { Float($0) })
            worstKernel = max(worstKernel, kernelGradient)
            XCTAssertLessThan(kernelGradient, 2e-6, "kernel gradient \(label)")
            XCTAssertEqual(Array(b.parameterGradients.dropFirst(kernelCount)), Array(a.parameterGradients.dropFirst(kernelCount)),
                           "bias gradient \(label)")
        }
        print("Winograd against direct, max |difference| / max |direct|: forward \(worst.forward), input gradient \(worst.input),"
              + " kernel gradient \(worstKernel)")
    }

    /// Equal tiles give equal outputs wherever they are, and a sample's outputs do not depend on
    /// the samples that share its call (tile blocks cross sample boundaries).
    func testOutputsDependOnTheSampleAlone() {
        let layer = Conv2D(filters: 40, kernelSize: (3, 3), padding: .same, activation: .relu, convolution: .winograd)
            .boundForTest([11, 13, 40])
        let parameters = random(layer.parameterCount, seed: 91, scale: 0.2)
        func forward(_ x: [Float], batch: Int) -> [Float] { LayerHarness(layer, parameters: parameters).run(x, batch: batch).y }
        let per = 11 * 13 * 40, images = random(5 * per, seed: 92)
        let together = forward(images, batch: 5)
        let outputs = layer.outputShape.count
        for n in 0..<5 {
            let alone = forward(Array(images[(n * per)..<((n + 1) * per)]), batch: 1)
            XCTAssertNil(firstDifference(Array(together[(n * outputs)..<((n + 1) * outputs)]), alone), "sample \(n)")
        }
    }

    /// The whole model's gradient, rounded to Float, is the same for any thread count and chunk size.
    func testGradientsDoNotDependOnThreadCountOrChunkSize() throws {
        let model = try Sequential(ModelSpec(inputShape: TensorShape([9, 9, 2]), classes: 3, layers: [
            Conv2D(filters: 4, kernelSize: (3, 3), padding: .same, activation: .relu, convolution: .winograd),
            Conv2D(filters: 5, kernelSize: (3, 3), useBias: false, convolution: .winograd),
            GlobalAvgPool2D(), Dense(units: 3, activation: .softmax),
        ]))
        let parameters = FloatBuffer(count: model.parameterCount)
        Initialization.glorotUniform(model, seed: 3, into: parameters)
        let images = random(24 * 162, seed: 11)
        let fill: BatchFiller = { range, x, labels, _ in
            for (slot, n) in range.enumerated() {
                for i in 0..<162 { x[slot * 162 + i] = images[n * 162 + i] }
                labels[slot] = Int32(n % 3)
            }
        }
        func gradients(threads: Int, chunkSize: Int) -> [UInt32] {
            let out = DoubleBuffer(count: model.parameterCount), state = FloatBuffer(count: 0)
            _ = ModelRunner(model: model, maxBatch: 24, threads: threads, chunkSize: chunkSize)
                .gradients(batchSize: 24, parameters: parameters.pointer, state: state.pointer, into: out.pointer, fill: fill)
            return out.array.map { Float($0 / 24).bitPattern }
        }
        let one = gradients(threads: 1, chunkSize: 1)
        for (threads, chunkSize) in [(1, 24), (2, 4), (3, 5), (2, 24)] {
            XCTAssertEqual(gradients(threads: threads, chunkSize: chunkSize), one, "\(threads) threads, chunks of \(chunkSize)")
        }
    }

    /// `[model] convolution` reaches the 3x3 stride-1 convolutions that name no algorithm; a layer
    /// asking for Winograd where it cannot run is a config error naming its key; both read back.
    func testConfigKeys() throws {
        func config(_ model: String, _ layer: String) -> String {
            """
            [model]
            input_shape = [12, 12, 2]
            classes = 3
            \(model)
            layers = [
              { type = "conv2d", filters = 4, kernel_size = 3, padding = "same" },
              { type = "conv2d", filters = 4, kernel_size = 3, strides = 2 },
              { type = "conv2d", filters = 4, kernel_size = 3 \(layer) },
              { type = "conv2d", filters = 4, kernel_size = 1 },
              { type = "global_avgpool2d" },
              { type = "dense", units = 3, activation = "softmax" },
            ]
            """
        }
        func algorithms(_ text: String) throws -> [ConvolutionAlgorithm?] {
            try ExperimentConfig.parse(toml: text).model.layers.compactMap { $0 as? Conv2D }.compactMap(\.convolution)
        }
        let text = config("convolution = \"winograd\"", ", convolution = \"direct\"")
        let parsed = try ExperimentConfig.parse(toml: text)
        XCTAssertEqual(parsed.model.layers.compactMap { $0 as? Conv2D }.map(\.convolution), [.winograd, nil, .direct, nil])
        XCTAssertEqual(try ExperimentConfig.parse(toml: parsed.tomlText).tomlText, parsed.tomlText)
        XCTAssertEqual(try algorithms(ExperimentConfig.parse(toml: parsed.tomlText).tomlText), [.winograd, .direct])
        XCTAssertEqual(try algorithms(config("", "")), [])
        XCTAssertEqual(try algorithms(config("", ", convolution = \"winograd\"")), [.winograd])
        XCTAssertThrowsError(try ExperimentConfig.parse(toml: config("", ", strides = 2, convolution = \"winograd\""))) { error in
            XCTAssertTrue("\(error)".contains("model.layers[2].convolution = \"winograd\" needs kernel_size 3 and strides 1"), "\(error)")
        }
        XCTAssertThrowsError(try ExperimentConfig.parse(toml: config("convolution = \"fft\"", ""))) { error in
            XCTAssertTrue("\(error)".contains("model.convolution"), "\(error)")
        }
    }
}
