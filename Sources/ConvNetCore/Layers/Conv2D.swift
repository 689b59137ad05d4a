import CKernels

/// 2-D convolution, valid padding, stride 1, with bias and an optional fused activation.
///
/// Shapes: `x[n, h, w, c]` -> `y[n, h - kh + 1, w - kw + 1, filters]`;
/// parameters `kernel[kh, kw, c, filters]` (Keras HWIO) then `bias[filters]`.
///
///     y[n, i, j, o] = act(bias[o] + sum_{a, b, c} x[n, i + a, j + b, c] * kernel[a, b, c, o])
///
/// Computed as im2col followed by a matrix product, `Y[n*oh*ow, filters] = col[n*oh*ow, kh*kw*c] * K`,
/// with the row-wise kernel (`Matmul.rowwise`), so identical receptive fields give bit-identical
/// outputs and max-pool ties stay ties. `col` is saved for the kernel gradient `dK = col^T * dY`
/// (per sample, the same kernel reading `col` as transposed), and the input gradient is `col2im(dY * K^T)`.
public struct Conv2D: Layer {
    public let kind = "conv2d"
    public let inputShape: TensorShape
    public let filters: Int
    public let kernelHeight: Int
    public let kernelWidth: Int
    public let activation: Activation

    public init(inputShape: TensorShape, filters: Int, kernelSize: (Int, Int), activation: Activation) {
        precondition(inputShape.rank == 3, "Conv2D needs a [height, width, channels] input")
        self.inputShape = inputShape
        self.filters = filters
        (kernelHeight, kernelWidth) = kernelSize
        self.activation = activation
    }

    var height: Int { inputShape.dimensions[0] }
    var width: Int { inputShape.dimensions[1] }
    var channels: Int { inputShape.dimensions[2] }
    var outHeight: Int { height - kernelHeight + 1 }
    var outWidth: Int { width - kernelWidth + 1 }
    /// Length of one im2col row: the receptive field of one output position.
    var patchLength: Int { kernelHeight * kernelWidth * channels }

    public var outputShape: TensorShape { TensorShape([outHeight, outWidth, filters]) }
    public var parameterShapes: [(name: String, shape: [Int])] {
        [("kernel", [kernelHeight, kernelWidth, channels, filters]), ("bias", [filters])]
    }
    public func savedCount(batch: Int) -> Int { batch * outHeight * outWidth * patchLength }
    public func scratchCount(batch: Int) -> Int {
        let positions = outHeight * outWidth
        return max(batch * positions * patchLength, filters)
    }
    /// The kernel as `[filters, kh * kw * c]`, the right-hand side of the input gradient `dY * K^T`.
    public var preparedCount: Int { patchLength * filters }
    public func prepare(parameters: UnsafePointer<Float>, into prepared: UnsafeMutablePointer<Float>) {
        Matmul.transpose(parameters, rows: patchLength, columns: filters, into: prepared)
    }
    public var forwardMultiplyAdds: Int { outHeight * outWidth * patchLength * filters }

    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                        parameters: UnsafePointer<Float>, memory: LayerMemory) {
        let rows = batch * outHeight * outWidth
        let col = memory.saved
        Im2Col.im2col(x, batch: batch, height: height, width: width, channels: channels,
                      kernelHeight: kernelHeight, kernelWidth: kernelWidth, col)
        let kernel = parameters, bias = parameters + patchLength * filters
        Matmul.rowwise(m: rows, n: filters, k: patchLength, col, lda: patchLength, kernel, ldb: filters,
                       y, ldc: filters, bias: bias, relu: activation == .relu)
        activation.applySoftmax(y, count: rows * filters, width: filters)
    }

    public func backward(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                         dx: UnsafeMutablePointer<Float>?, batch: Int,
                         parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Double>,
                         memory: LayerMemory) {
        let rows = batch * outHeight * outWidth
        activation.backward(y: y, dy: dy, count: rows * filters)
        // Per sample: dK_n = col_n^T * dY_n and dBias_n = sum over positions of dY_n, in Float with the
        // row-wise kernel (fixed shapes, so the result depends on the sample alone), added in Double.
        let positions = outHeight * outWidth, kernelCount = patchLength * filters
        Matmul.addWeightGradients(samples: batch, m: patchLength, n: filters, k: positions,
                                  memory.saved, lda: patchLength, sampleStrideA: positions * patchLength,
                                  dy, ldb: filters, sampleStrideB: positions * filters, into: gradients, ldc: filters)
        let biasGradient = memory.scratch
        for n in 0..<batch {
            ck_column_sums(dy + n * positions * filters, Int32(positions), Int32(filters), biasGradient)
            ck_accumulate(biasGradient, filters, gradients + kernelCount)
        }
        guard let dx else { return }
        let colGradient = memory.scratch
        Matmul.rowwise(m: rows, n: patchLength, k: filters, dy, lda: filters, memory.prepared, ldb: patchLength,
                       colGradient, ldc: patchLength)
        Im2Col.col2im(colGradient, batch: batch, height: height, width: width, channels: channels,
                      kernelHeight: kernelHeight, kernelWidth: kernelWidth, dx)
    }
}
