import ConvNetCore
import TestSupport
import XCTest

/// The fast kernels (im2col + the row-wise kernel, and BLAS's GEMM) against the naive reference loops, to 1e-5 relative.
final class KernelTests: XCTestCase {
    private func random(_ count: Int, seed: UInt64) -> [Float] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { _ in 2 * generator.nextUnitFloat() - 1 }
    }

    private func assertClose(_ fast: [Float], _ reference: [Float], _ what: String) {
        let tolerance = 1e-5 * max(maxAbs(reference), 1e-30)
        let difference = zip(fast, reference).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
        XCTAssertLessThanOrEqual(difference, tolerance, what)
    }


    private func maxAbs(_ a: [Float]) -> Float { a.reduce(0) { max($0, abs($1)) } }

    func testGemmMatchesReferenceForEveryTransposition() {
        let (m, n, k) = (37, 19, 53)
        let a = random(m * k, seed: 1), b = random(k * n, seed: 2)
        let expected = ReferenceKernels.matmul(a, b, m: m, n: n, k: k)
        func transpose(_ x: [Float], rows: Int, columns: Int) -> [Float] {
            (0..<(rows * columns)).map { i in x[(i % rows) * columns + i / rows] }
        }
        let aT = transpose(a, rows: m, columns: k), bT = transpose(b, rows: k, columns: n)
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            var c = [Float](repeating: 0, count: m * n)
            Matmul.gemm(transposeA: ta, transposeB: tb, m: m, n: n, k: k,
                        ta ? aT : a, lda: ta ? m : k, tb ? bT : b, ldb: tb ? k : n, &c, ldc: n)
            assertClose(c, expected, "gemm transposeA \(ta) transposeB \(tb)")
        }
    }

    func testRowwiseKernelMatchesReferenceWithBiasReLUAndAccumulation() {
        let (m, n, k) = (13, 37, 29)   // odd sizes: row blocks of 6, column blocks of 16 and 8, and a tail
        let a = random(m * k, seed: 21), b = random(k * n, seed: 22), bias = random(n, seed: 23), start = random(m * n, seed: 24)
        let product = ReferenceKernels.matmul(a, b, m: m, n: n, k: k)
        var c = [Float](repeating: 0, count: m * n)
        Matmul.rowwise(m: m, n: n, k: k, a, lda: k, b, ldb: n, &c, ldc: n)
        assertClose(c, product, "plain")
        Matmul.rowwise(m: m, n: n, k: k, a, lda: k, b, ldb: n, &c, ldc: n, bias: bias, relu: true)
        assertClose(c, (0..<(m * n)).map { max(0, product[$0] + bias[$0 % n]) }, "bias and ReLU")
        c = start
        Matmul.rowwise(m: m, n: n, k: k, a, lda: k, b, ldb: n, &c, ldc: n, accumulate: true)
        assertClose(c, (0..<(m * n)).map { product[$0] + start[$0] }, "accumulate")
        // Equal rows of A give bit-equal rows of C, wherever they sit.
        let repeated = (0..<m).flatMap { _ in Array(a[0..<k]) }
        Matmul.rowwise(m: m, n: n, k: k, repeated, lda: k, b, ldb: n, &c, ldc: n)
        for row in 1..<m { XCTAssertEqual(Array(c[(row * n)..<((row + 1) * n)]), Array(c[0..<n]), "row \(row)") }
    }

    /// The weight-gradient kernel reads each sample's A transposed and adds in Double: the same bits
    /// as the row-wise product on the materialised transpose, added one sample after another.
    func testWeightGradientKernelAddsTheSameBitsAsPerSampleProducts() {
        // k = 17 and 40: both loop orders of the kernel (samples inside or outside the blocks);
        // n = 40 and 10: column blocks of 16 and 8, and a tail of columns (dense_2 has 10 units).
        for (n, k) in [(40, 17), (40, 40), (10, 17), (10, 40)] { checkWeightGradientKernel(samples: 3, m: 31, n: n, k: k) }
    }

    /// The AVX-512, AVX2 and portable paths compute every element by the same chain of fused
    /// multiply-adds, so they give the same bits: row blocks of 12 and 6 with remainders, column
    /// panels of 32, 16 and 8, masked and scalar tails, bias, ReLU, accumulation, weight gradients.
    func testEveryKernelPathGivesTheSameBits() throws {
        defer { Matmul.selectKernels("best") }
        let paths = ["portable", "avx2", "avx512", "neon"].filter { Matmul.selectKernels($0) }
        try XCTSkipIf(paths.count < 2, "this CPU has only the portable path")
        func results() -> [[UInt64]] {   // every result's bits
            var out: [[UInt64]] = []
            for (m, n, k) in [(25, 71, 29), (13, 10, 64), (7, 5, 3), (12, 48, 1)] {
                let a = random(m * k, seed: 41), b = random(k * n, seed: 42), bias = random(n, seed: 43), start = random(m * n, seed: 44)
                var c = [Float](repeating: 0, count: m * n)
                func bits(_ x: [Float]) -> [UInt64] { x.map { UInt64($0.bitPattern) } }
                Matmul.rowwise(m: m, n: n, k: k, a, lda: k, b, ldb: n, &c, ldc: n)
                out.append(bits(c))
                Matmul.rowwise(m: m, n: n, k: k, a, lda: k, b, ldb: n, &c, ldc: n, bias: bias, relu: true)
                out.append(bits(c))
                c = start
                Matmul.rowwise(m: m, n: n, k: k, a, lda: k, b, ldb: n, &c, ldc: n, accumulate: true)
                out.append(bits(c))
                for samples in [1, 3] {
                    var sum = [Double](repeating: 0.5, count: m * n)
                    let at = random(samples * k * m, seed: 45), bs = random(samples * k * n, seed: 46)
                    Matmul.addWeightGradients(samples: samples, m: m, n: n, k: k, at, lda: m, sampleStrideA: k * m,
                                              bs, ldb: n, sampleStrideB: k * n, into: &sum, ldc: n)
                    out.append(sum.map(\.bitPattern))
                }
            }
            return out
        }
        Matmul.selectKernels(paths[0])
        let reference = results()
        for path in paths.dropFirst() {
            XCTAssertTrue(Matmul.selectKernels(path))
            XCTAssertEqual(results(), reference, "\(path) against \(paths[0])")
        }
        XCTAssertFalse(Matmul.selectKernels("sse9"), "an unknown path is refused")
    }

    /// With k = 1 (a dense layer's x_s^T dz_s) the fast paths skip the samples whose x is 0 in a row,
    /// which adds nothing to a sum that is not -0; a sample whose dz holds an infinity or a NaN is
    /// not skipped, because 0 times it is NaN. Every path must give the bits of the per-sample sums.
    func testOuterProductsSkipOnlySamplesThatAddNothing() {
        defer { Matmul.selectKernels("best") }
        let (m, n, samples) = (9, 71, 70)   // 71: AVX-512 masks and AVX2's scalar tail; 70: two sample groups
        var x = random(samples * m, seed: 51), dz = random(samples * n, seed: 52)
        var generator = SeededGenerator(seed: 53)
        for i in x.indices where generator.nextUnitFloat() < 0.6 { x[i] = i % 3 == 0 ? -0.0 : 0 }
        for i in 0..<m { x[5 * m + i] = 0; x[66 * m + i] = 0 }
        dz[5 * n + 7] = .nan
        dz[66 * n + 70] = -.infinity
        for path in ["portable", "avx2", "avx512", "neon"] where Matmul.selectKernels(path) {
            let start = random(m * n, seed: 54).map { Double($0) }
            var expected = start
            for s in 0..<samples {
                for i in 0..<m { for j in 0..<n { expected[i * n + j] += Double(Float(0).addingProduct(x[s * m + i], dz[s * n + j])) } }
            }
            var sum = start
            Matmul.addWeightGradients(samples: samples, m: m, n: n, k: 1, x, lda: m, sampleStrideA: m,
                                      dz, ldb: n, sampleStrideB: n, into: &sum, ldc: n)
            assertSameBits(sum.map { $0.isNaN ? 1 : $0.bitPattern }, expected.map { $0.isNaN ? 1 : $0.bitPattern }, path)
            XCTAssertTrue(sum[7].isNaN && sum[(m - 1) * n + 70].isNaN, "\(path): 0 times NaN or infinity reaches the sum")
        }
    }

    private func checkWeightGradientKernel(samples: Int, m: Int, n: Int, k: Int) {
        // A^T stored [k, m] with a wider row stride, samples further apart than their size.
        let lda = m + 3, strideA = k * lda + 5, strideB = k * n + 2
        let at = random(samples * strideA, seed: 31), b = random(samples * strideB, seed: 32)
        let start = random(m * n, seed: 33).map { Double($0) * 1e3 }
        var expected = start
        for s in 0..<samples {
            var a = [Float](repeating: 0, count: m * k)
            for p in 0..<k { for i in 0..<m { a[i * k + p] = at[s * strideA + p * lda + i] } }
            var product = [Float](repeating: 0, count: m * n)
            let bs = Array(b[(s * strideB)..<(s * strideB + k * n)])
            Matmul.rowwise(m: m, n: n, k: k, a, lda: k, bs, ldb: n, &product, ldc: n)
            assertClose(product, ReferenceKernels.matmul(a, bs, m: m, n: n, k: k), "n \(n) k \(k) sample \(s) against the reference")
            for i in 0..<(m * n) { expected[i] += Double(product[i]) }
        }
        var sum = start
        Matmul.addWeightGradients(samples: samples, m: m, n: n, k: k, at, lda: lda, sampleStrideA: strideA,
                                  b, ldb: n, sampleStrideB: strideB, into: &sum, ldc: n)
        XCTAssertEqual(sum, expected, "n \(n) k \(k)")
    }

    func testConv2DForwardAndBackwardMatchReference() {
        // Also windows whose row span equals conv1's (3 floats) without being 3x3 over one channel:
        // im2col's fixed-size path must not take them.
        for (h, w, c, kh, kw, f) in [(28, 28, 1, 3, 3, 32), (13, 13, 32, 3, 3, 64), (7, 9, 5, 2, 4, 6),
                                     (6, 4, 3, 3, 1, 5), (5, 7, 1, 1, 3, 4), (6, 6, 3, 3, 3, 2)] {
            let batch = 3
            let layer = Conv2D(filters: f, kernelSize: (kh, kw), activation: .linear).boundForTest([h, w, c])
            let x = random(batch * h * w * c, seed: 3), kernel = random(kh * kw * c * f, seed: 4), bias = random(f, seed: 5)
            let parameters = kernel + bias
            let dyValues = random(batch * layer.outputShape.count, seed: 6)
            let result = LayerHarness(layer, parameters: parameters).run(x, batch: batch, dy: dyValues)
            let (y, dx, gradients) = (result.y, result.dx, result.parameterGradients)
            let label = "\(h)x\(w)x\(c) kernel \(kh)x\(kw) filters \(f)"
            assertClose(y, ReferenceKernels.conv2d(x: x, batch: batch, height: h, width: w, channels: c, kernel: kernel,
                                                   bias: bias, kernelHeight: kh, kernelWidth: kw, filters: f), "forward \(label)")
            let reference = ReferenceKernels.conv2dBackward(x: x, dy: dyValues, batch: batch, height: h, width: w, channels: c,
                                                            kernel: kernel, kernelHeight: kh, kernelWidth: kw, filters: f)
            assertClose(dx, reference.dx, "input gradient \(label)")
            let floatGradients = gradients.map(Float.init)
            assertClose(Array(floatGradients[0..<kernel.count]), reference.dKernel, "kernel gradient \(label)")
            assertClose(Array(floatGradients[kernel.count...]), reference.dBias, "bias gradient \(label)")
        }
    }

    /// Direct convolution gives the im2col route's bits, on every kernel path: outputs (with bias and
    /// ReLU, and without bias), kernel gradients added to a running Double sum, input gradients.
    /// Shapes: the reference model's conv2; output rows of 13 (blocks of 12 + 1, 6 + 6 + 1), 12
    /// channels and 40 filters (masked and scalar column tails); a 2 x 4 window over 8 channels.
    func testDirectConvolutionGivesTheIm2colRoutesBits() {
        defer { Matmul.selectKernels("best") }
        for path in ["portable", "avx2", "avx512", "neon"] where Matmul.selectKernels(path) {
            for (h, w, c, kh, kw, f) in [(13, 13, 32, 3, 3, 64), (10, 15, 12, 3, 3, 40), (9, 12, 8, 2, 4, 19)] {
                let batch = 3, label = "\(path) \(h)x\(w)x\(c) kernel \(kh)x\(kw) filters \(f)"
                let g = try! WindowGeometry(input: TensorShape([h, w, c]), window: (kh, kw), strides: (1, 1), padding: .valid)
                XCTAssertTrue(DirectConvolution.suits(g), label)
                let rows = batch * g.positions, patch = g.patchLength
                let x = random(batch * g.inputCount, seed: 61), kernel = random(patch * f, seed: 62)
                let bias = random(f, seed: 63), dy = random(rows * f, seed: 64)
                var col = [Float](repeating: 0, count: rows * patch)
                Im2Col.im2col(x, batch: batch, geometry: g, &col)
                for (withBias, relu) in [(true, true), (false, false)] {
                    var expected = [Float](repeating: 0, count: rows * f), direct = expected
                    Matmul.rowwise(m: rows, n: f, k: patch, col, lda: patch, kernel, ldb: f, &expected, ldc: f,
                                   bias: withBias ? bias : nil, relu: relu)
                    DirectConvolution.forward(x, batch: batch, geometry: g, kernel: kernel, filters: f,
                                              bias: withBias ? bias : nil, relu: relu, &direct)
                    assertSameBits(direct.map(\.bitPattern), expected.map(\.bitPattern), "forward, bias \(withBias), \(label)")
                }

                let start = random(patch * f, seed: 65).map { Double($0) * 1e3 }
                var expectedSums = start, directSums = start
                Matmul.addWeightGradients(samples: batch, m: patch, n: f, k: g.positions, col, lda: patch,
                                          sampleStrideA: g.positions * patch, dy, ldb: f, sampleStrideB: g.positions * f,
                                          into: &expectedSums, ldc: f)
                DirectConvolution.addKernelGradients(x: x, dy: dy, batch: batch, geometry: g, filters: f, into: &directSums)
                assertSameBits(directSums.map(\.bitPattern), expectedSums.map(\.bitPattern), "kernel gradient \(label)")

                let (expectedDx, kernelTransposed) = im2colInputGradient(dy: dy, kernel: kernel, batch: batch, geometry: g, filters: f)
                var directDx = [Float](repeating: .nan, count: batch * g.inputCount)
                DirectConvolution.inputGradient(dy: dy, kernelTransposed: kernelTransposed, batch: batch, geometry: g,
                                                filters: f, &directDx)
                assertSameBits(directDx.map(\.bitPattern), expectedDx.map(\.bitPattern), "input gradient \(label)")
            }
        }
    }

    /// The transpose (8 x 8 register tiles with AVX2, scalar edges) moves every element where it belongs,
    /// for shapes with and without edges, on whatever path this CPU takes.
    func testTransposeMovesEveryElement() {
        for (rows, columns) in [(576, 64), (288, 64), (64, 10), (9, 32), (13, 7), (17, 24), (1, 1), (8, 8)] {
            let m = (0..<(rows * columns)).map { Float($0) + 0.5 }
            var out = [Float](repeating: .nan, count: rows * columns)
            Matmul.transpose(m, rows: rows, columns: columns, into: &out)
            var wrong = 0
            for r in 0..<rows { for c in 0..<columns where out[c * rows + r] != m[r * columns + c] { wrong += 1 } }
            XCTAssertEqual(wrong, 0, "\(rows) x \(columns)")
        }
    }

    /// The tiled max-pool path (2 x 2 windows have their own) gives exactly the reference's maxima and
    /// shares, on inputs of three values so that windows with 1, 2, 3 and 4 tied maxima all occur;
    /// and when it also applies the ReLU backward of the layer below, exactly the reference's `dx`
    /// followed by that ReLU backward.
    func testTiledMaxPoolMatchesTheReferenceBitForBitWithTies() {
        for (h, w, c, pool) in [(6, 8, 32, 2), (5, 7, 20, 2), (4, 6, 3, 2), (6, 6, 5, 3), (7, 9, 16, 3)] {
            let batch = 3
            let layer = MaxPool2D(pool: pool).boundForTest([h, w, c])
            XCTAssertTrue(layer.absorbsInputReLUBackward)
            var generator = SeededGenerator(seed: 31)
            let x = (0..<(batch * h * w * c)).map { _ in Float(Int(generator.nextUnitFloat() * 3)) - 1 }
            let dy = random(batch * layer.outputShape.count, seed: 32)
            let result = LayerHarness(layer, parameters: []).run(x, batch: batch, dy: dy)
            let reference = ReferenceKernels.maxPoolTiles(x: x, dy: dy, batch: batch, height: h, width: w, channels: c, pool: pool)
            func differences(_ a: [Float], _ b: [Float]) -> Int { zip(a, b).filter { $0.0 != $0.1 }.count + abs(a.count - b.count) }
            XCTAssertEqual(differences(result.y, reference.y), 0, "forward \(h)x\(w)x\(c) pool \(pool)")
            XCTAssertEqual(differences(result.dx, reference.dx), 0, "backward \(h)x\(w)x\(c) pool \(pool)")
            let masked = LayerHarness(layer, parameters: []).run(x, batch: batch, dy: dy, inputReLUBackward: true).dx
            let expected = zip(x, reference.dx).map { $0.0 > 0 ? $0.1 : 0 }
            XCTAssertEqual(differences(masked, expected), 0, "backward with the ReLU below \(h)x\(w)x\(c) pool \(pool)")
            XCTAssertGreaterThan(differences(masked, reference.dx), 0, "some windows have no positive maximum")
        }
        // Three tied maxima in every channel (a vector of 16 and a remainder): dy / 3 each, the fourth 0.
        let channels = 17
        let window: [Float] = [5, 5, 2, 5]   // cells (0, 0), (0, 1), (1, 0), (1, 1)
        let x = window.flatMap { [Float](repeating: $0, count: channels) }
        let dy = random(channels, seed: 33)
        let dx = LayerHarness(MaxPool2D(pool: 2).boundForTest([2, 2, channels]), parameters: []).run(x, batch: 1, dy: dy).dx
        for c in 0..<channels {
            XCTAssertEqual([dx[c], dx[channels + c], dx[2 * channels + c], dx[3 * channels + c]], [dy[c] / 3, dy[c] / 3, 0, dy[c] / 3])
        }
    }

    /// A convolution's bias gradient is, per sample, the Float sum of `dy` over positions in order,
    /// added in Double in sample order, whether the kernel sums samples one by one or four at a time.
    func testConvBiasGradientIsEachSamplesFloatSumAddedInDouble() {
        for (h, w, c, f, batch) in [(28, 28, 1, 32, 9), (13, 13, 32, 64, 5), (5, 5, 3, 20, 4), (6, 6, 2, 7, 6)] {
            let layer = Conv2D(filters: f, kernelSize: (3, 3), activation: .linear).boundForTest([h, w, c])
            let positions = layer.outputShape.count / f
            let dy = random(batch * positions * f, seed: 41)
            let parameters = random(9 * c * f + f, seed: 42)
            let gradients = LayerHarness(layer, parameters: parameters).run(random(batch * h * w * c, seed: 43), batch: batch, dy: dy)
                .parameterGradients
            var expected = [Double](repeating: 0, count: f)
            for n in 0..<batch {
                for o in 0..<f {
                    var sum: Float = 0
                    for p in 0..<positions { sum += dy[(n * positions + p) * f + o] }
                    expected[o] += Double(sum)
                }
            }
            XCTAssertEqual(Array(gradients[(9 * c * f)...]), expected, "\(h)x\(w)x\(c) filters \(f) batch \(batch)")
        }
    }

    /// The runner lets dense layers add their weight gradients once per share, from floats saved by
    /// `backward`: the same bits as adding them in `backward`, and the same input gradient.
    func testDeferredDenseGradientsGiveTheSameBits() {
        let (batch, inputs, units) = (7, 40, 19)
        let layer = Dense(units: units, activation: .relu).boundForTest([inputs])
        let x = random(batch * inputs, seed: 11).map { max($0, 0) }   // a ReLU's output: zeros to skip
        let parameters = random(inputs * units + units, seed: 12), dy = random(batch * units, seed: 13)
        var harness = LayerHarness(layer, parameters: parameters)
        let direct = harness.run(x, batch: batch, dy: dy)
        harness.deferWeightGradients = true
        let deferred = harness.run(x, batch: batch, dy: dy)
        XCTAssertEqual(layer.deferredCountPerSample, inputs + units)
        XCTAssertEqual(deferred.parameterGradients.map(\.bitPattern), direct.parameterGradients.map(\.bitPattern))
        XCTAssertEqual(deferred.dx.map(\.bitPattern), direct.dx.map(\.bitPattern))
        XCTAssertGreaterThan(direct.parameterGradients.filter { $0 != 0 }.count, inputs * units / 4, "gradients to compare")
    }

    func testDenseForwardMatchesReference() {
        let (batch, inputs, units) = (5, 576, 64)
        let layer = Dense(units: units, activation: .linear).boundForTest([inputs])
        let x = random(batch * inputs, seed: 8), kernel = random(inputs * units, seed: 9), bias = random(units, seed: 10)
        let y = LayerHarness(layer, parameters: kernel + bias).run(x, batch: batch).y
        var expected = ReferenceKernels.matmul(x, kernel, m: batch, n: units, k: inputs)
        for i in 0..<expected.count { expected[i] += bias[i % units] }
        assertClose(y, expected, "dense forward")
    }

    /// Threads split the batch and each walks its share in chunks; because every sample's contribution
    /// is computed on its own and summed in Double, the gradient rounded to Float is the same for any
    /// number of threads and any chunk size (uneven shares and partial last chunks included).
    func testGradientsDoNotDependOnThreadCountOrChunkSize() throws {
        let model = try Sequential(.kerasMNIST)
        let parameters = FloatBuffer(count: model.parameterCount)
        Initialization.glorotUniform(model, seed: 3, into: parameters)
        let images = random(64 * 784, seed: 11).map { abs($0) }
        let fill: BatchFiller = { range, x, labels, _ in
            for (slot, n) in range.enumerated() {
                for i in 0..<784 { x[slot * 784 + i] = images[n * 784 + i] }
                labels[slot] = Int32(n % 10)
            }
        }
        func gradients(threads: Int, chunkSize: Int) -> [Float] {
            let out = DoubleBuffer(count: model.parameterCount)
            let state = FloatBuffer(count: 0)
            _ = ModelRunner(model: model, maxBatch: 64, threads: threads, chunkSize: chunkSize)
                .gradients(batchSize: 64, parameters: parameters.pointer, state: state.pointer, into: out.pointer, fill: fill)
            return out.array.map { Float($0 / 64) }
        }
        let one = gradients(threads: 1, chunkSize: 1)
        for (threads, chunkSize) in [(1, 64), (2, 4), (3, 4), (4, 4), (3, 5), (2, 64)] {
            XCTAssertEqual(gradients(threads: threads, chunkSize: chunkSize).map(\.bitPattern), one.map(\.bitPattern),
                           "\(threads) threads, chunks of \(chunkSize), vs 1 thread, chunks of 1")
        }
    }

    /// Equal receptive fields give bit-equal outputs (max-pool ties stay ties), and a sample's
    /// activations do not depend on which samples share its batch.
    func testConvolutionOutputsDependOnTheSampleAlone() {
        let layer = Conv2D(filters: 64, kernelSize: (3, 3), activation: .relu).boundForTest([13, 13, 32])
        let parameters = random(layer.parameterCount, seed: 12)
        func forward(_ x: [Float], batch: Int) -> [Float] { LayerHarness(layer, parameters: parameters).run(x, batch: batch).y }
        let constant = forward([Float](repeating: 0.7, count: 13 * 13 * 32), batch: 1)
        for filter in 0..<64 {
            XCTAssertEqual(Set(stride(from: filter, to: constant.count, by: 64).map { constant[$0].bitPattern }).count, 1)
        }
        let images = random(5 * 13 * 13 * 32, seed: 13)
        let together = forward(images, batch: 5)
        let per = 13 * 13 * 32
        for n in 0..<5 {
            let alone = forward(Array(images[(n * per)..<((n + 1) * per)]), batch: 1)
            XCTAssertEqual(Array(together[(n * alone.count)..<((n + 1) * alone.count)]).map(\.bitPattern), alone.map(\.bitPattern))
        }
    }

    /// Dropping a pool ends its threads (they used to keep the pool alive and never end).
    /// Inside one run, no thread passes a phase before every thread has arrived at it: each round,
    /// every thread writes its slot, arrives, waits, and then must see every slot of that round;
    /// a barrier keeps the next round's writes after everyone's reads. Some rounds hold one thread
    /// back 3 ms, past the spinning, so that the others sleep and must be woken.
    func testWorkerPoolMeetingPointsHoldEveryThreadUntilAllArrive() {
        let size = 4, rounds = 300
        let pool = WorkerPool(size: size)
        var slots = [Int](repeating: -1, count: size)
        var wrong = [Int](repeating: 0, count: size)
        slots.withUnsafeMutableBufferPointer { slots in
            wrong.withUnsafeMutableBufferPointer { wrong in
                pool.run { t in
                    for round in 0..<rounds {
                        if round % 100 == 7 && t == round % size { usleep(3_000) }
                        slots[t] = round
                        let phase = pool.arrive()
                        pool.wait(phase)
                        if (0..<size).contains(where: { slots[$0] != round }) { wrong[t] += 1 }
                        pool.barrier()
                    }
                }
            }
        }
        XCTAssertEqual(wrong, [Int](repeating: 0, count: size), "rounds in which a thread saw a slot not yet written")
        XCTAssertEqual(slots, [Int](repeating: rounds - 1, count: size))
    }

    func testWorkerPoolThreadsEndWhenThePoolIsDropped() throws {
        func threads() throws -> Int { try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count }
        // Pools dropped by earlier tests may still be ending their threads: count once that has settled.
        var before = try threads()
        for _ in 0..<250 {
            usleep(20_000)
            let now = try threads()
            if now == before { break }
            before = now
        }
        do {
            let pool = WorkerPool(size: 4)
            var seen = [Int](repeating: 0, count: 4)
            seen.withUnsafeMutableBufferPointer { out in pool.run { out[$0] = $0 + 1 } }
            XCTAssertEqual(seen, [1, 2, 3, 4])
            XCTAssertEqual(try threads(), before + 3)
        }
        let deadline = Date().addingTimeInterval(5)
        while try threads() > before && Date() < deadline { usleep(10_000) }
        XCTAssertEqual(try threads(), before, "the pool's 3 threads ended")
    }
}
