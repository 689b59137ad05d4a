import CKernels

/// Fully connected layer with bias and an optional fused activation.
///
/// Shapes: `x[n, in]` -> `y[n, units]`; parameters `kernel[in, units]` (Keras layout) then `bias[units]`.
///
///     y = act(x * kernel + bias),   dK = sum_n x_n^T dZ_n,   dBias = sum_n dZ_n,   dx = dZ * kernel^T
///
/// `y` and `dx` use the row-wise kernel, so each sample's result is independent of its batch.
public struct Dense: Layer {
    public let kind = "dense"
    public let inputShape: TensorShape
    public let units: Int
    public let activation: Activation

    public init(inputShape: TensorShape, units: Int, activation: Activation) {
        precondition(inputShape.rank == 1, "Dense needs a flat input; put Flatten before it")
        self.inputShape = inputShape
        self.units = units
        self.activation = activation
    }

    var inputs: Int { inputShape.dimensions[0] }
    public var outputShape: TensorShape { TensorShape([units]) }
    public var parameterShapes: [(name: String, shape: [Int])] { [("kernel", [inputs, units]), ("bias", [units])] }
    public var forwardMultiplyAdds: Int { inputs * units }
    /// The kernel as `[units, in]`, the right-hand side of the input gradient `dZ * K^T`.
    public var preparedCount: Int { inputs * units }
    public func prepare(parameters: UnsafePointer<Float>, into prepared: UnsafeMutablePointer<Float>) {
        Matmul.transpose(parameters, rows: inputs, columns: units, into: prepared)
    }

    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                        parameters: UnsafePointer<Float>, memory: LayerMemory) {
        Matmul.rowwise(m: batch, n: units, k: inputs, x, lda: inputs, parameters, ldb: units,
                       y, ldc: units, bias: parameters + inputs * units, relu: activation == .relu)
        activation.applySoftmax(y, count: batch * units, width: units)
    }

    public func backward(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                         dx: UnsafeMutablePointer<Float>?, batch: Int,
                         parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Double>,
                         memory: LayerMemory) {
        activation.backward(y: y, dy: dy, count: batch * units)
        // Per sample: dK_n = x_n^T dZ_n (an outer product) and dBias_n = dZ_n, in Float, added in Double.
        // The outer products x_n^T dZ_n are products with k = 1.
        Matmul.addWeightGradients(samples: batch, m: inputs, n: units, k: 1, x, lda: inputs, sampleStrideA: inputs,
                                  dy, ldb: units, sampleStrideB: units, into: gradients, ldc: units)
        for n in 0..<batch { ck_accumulate(dy + n * units, units, gradients + inputs * units) }
        guard let dx else { return }
        Matmul.rowwise(m: batch, n: inputs, k: units, dy, lda: units, memory.prepared, ldb: inputs, dx, ldc: inputs)
    }
}
