/// Fully connected layer with bias and an optional fused activation.
///
/// Shapes: `x[n, in]` -> `y[n, units]`; parameters `kernel[in, units]` (Keras layout) then `bias[units]`.
///
///     y = act(x * kernel + bias),   dK = x^T * dZ,   dBias = sum_n dZ,   dx = dZ * kernel^T
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

    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                        parameters: UnsafePointer<Float>, memory: LayerMemory) {
        let bias = parameters + inputs * units
        for r in 0..<batch { (y + r * units).update(from: bias, count: units) }
        Matmul.gemm(m: batch, n: units, k: inputs, x, lda: inputs, parameters, ldb: units,
                    beta: 1, y, ldc: units)
        activation.apply(y, count: batch * units, width: units)
    }

    public func backward(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                         dx: UnsafeMutablePointer<Float>?, batch: Int,
                         parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Float>,
                         memory: LayerMemory) {
        activation.backward(y: y, dy: dy, count: batch * units)
        Matmul.gemm(transposeA: true, m: inputs, n: units, k: batch, x, lda: inputs, dy, ldb: units,
                    gradients, ldc: units)
        columnSums(dy, rows: batch, columns: units, into: gradients + inputs * units)
        guard let dx else { return }
        Matmul.gemm(transposeB: true, m: batch, n: inputs, k: units, dy, lda: units, parameters, ldb: units,
                    dx, ldc: inputs)
    }
}
