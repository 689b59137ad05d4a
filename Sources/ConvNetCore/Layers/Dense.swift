import CKernels

/// Fully connected layer (Keras `Dense`) with optional bias and a fused activation.
///
/// Config (`type = "dense"`): `units`, `activation` (`"linear"`), `use_bias` (true), `kernel_regularizer`.
///
/// Shapes: `x[n, in]` -> `y[n, units]`; parameters `kernel[in, units]` (Keras layout) then `bias[units]`.
///
///     y = act(x * kernel + bias),   dK = sum_n x_n^T dZ_n,   dBias = sum_n dZ_n,   dx = dZ * kernel^T
///
/// `y` and `dx` use the row-wise kernel, so each sample's result is independent of its batch.
public struct Dense: Layer, ActivatedOutput, PreparedParameters, DeferredWeightGradients, EndsInReLU, CostModel {
    public static let typeName = "dense"
    public static let kerasClassName = "Dense"

    public let units: Int
    public let activation: Activation
    public let useBias: Bool
    public let kernelRegularizer: Regularizer?
    public private(set) var inputShape = TensorShape([])

    public init(units: Int, activation: Activation = .linear, useBias: Bool = true, kernelRegularizer: Regularizer? = nil) {
        self.units = units
        self.activation = activation
        self.useBias = useBias
        self.kernelRegularizer = kernelRegularizer
    }

    public init(config: ConfigTable) throws {
        guard let units = try config.int("units", min: 1, max: 1 << 24) else { throw DescriptionError("missing key \(config.key("units"))") }
        self.init(units: units, activation: try Activation.read(from: config), useBias: try config.bool("use_bias") ?? true,
                  kernelRegularizer: try Regularizer.read("kernel_regularizer", from: config))
    }

    public var config: [ConfigEntry] {
        [ConfigEntry("units", .int(units)), ConfigEntry("activation", .string(activation.rawValue))]
            + (useBias ? [] : [ConfigEntry("use_bias", .bool(false))])
            + (kernelRegularizer.map { [ConfigEntry("kernel_regularizer", $0.configValue)] } ?? [])
    }

    public func bound(to inputShape: TensorShape) throws -> Dense {
        guard inputShape.rank == 1 else { throw DescriptionError("dense needs a flat input, got \(inputShape); add a flatten layer") }
        var layer = self
        layer.inputShape = inputShape
        return layer
    }

    var inputs: Int { inputShape.dimensions[0] }
    private var fused: FusedActivation { FusedActivation(activation: activation, width: units) }
    public var outputShape: TensorShape { TensorShape([units]) }
    public var parameters: [TensorSpec] {
        [TensorSpec("kernel", [inputs, units], .glorotUniform, regularizer: kernelRegularizer)]
            + (useBias ? [TensorSpec("bias", [units], .zeros)] : [])
    }
    public func savedCount(batch: Int) -> Int { fused.savedCount(outputs: batch * units) }
    public var forwardMultiplyAdds: Int { inputs * units }
    public var endsInReLU: Bool { activation == .relu }
    public var forwardProduct: (rowsPerSample: Int, columns: Int, depth: Int)? { (1, units, inputs) }
    /// The kernel as `[units, in]`, the right-hand side of the input gradient `dZ * K^T`.
    public var preparedCount: Int { inputs * units }
    public func prepare(parameters: UnsafePointer<Float>, into prepared: UnsafeMutablePointer<Float>) {
        Matmul.transpose(parameters, rows: inputs, columns: units, into: prepared)
    }

    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                        parameters: UnsafePointer<Float>, memory: LayerMemory, context: PassContext) {
        Matmul.rowwise(m: batch, n: units, k: inputs, x, lda: inputs, parameters, ldb: units,
                       y, ldc: units, bias: useBias ? parameters + inputs * units : nil, relu: fused.inKernel)
        fused.forward(y, count: batch * units, preActivation: memory.saved)
    }

    /// Each sample's `x` then its `dZ`: the weight gradient's inputs.
    public var deferredCountPerSample: Int { inputs + units }

    public func addDeferredGradients(samples: Int, deferred: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Double>) {
        let stride = deferredCountPerSample
        addKernelGradients(samples: samples, x: deferred, dz: deferred + inputs, sampleStride: (stride, stride), into: gradients)
    }

    /// The outer products x_n^T dZ_n (products with k = 1), added in Double in sample order.
    private func addKernelGradients(samples: Int, x: UnsafePointer<Float>, dz: UnsafePointer<Float>,
                                    sampleStride: (x: Int, dz: Int), into gradients: UnsafeMutablePointer<Double>) {
        Matmul.addWeightGradients(samples: samples, m: inputs, n: units, k: 1, x, lda: inputs, sampleStrideA: sampleStride.x,
                                  dz, ldb: units, sampleStrideB: sampleStride.dz, into: gradients, ldc: units)
    }

    public func backward(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                         dx: UnsafeMutablePointer<Float>?, batch: Int,
                         parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Double>,
                         memory: LayerMemory, context: PassContext) {
        fused.backward(y: y, dy: dy, count: batch * units, preActivation: memory.saved, context: context)
        // Per sample: dK_n = x_n^T dZ_n (an outer product) and dBias_n = dZ_n, in Float, added in Double.
        if let deferred = memory.deferred {   // x_n and dZ_n wait in the share's slots
            let stride = deferredCountPerSample
            for n in 0..<batch {
                (deferred + n * stride).update(from: x + n * inputs, count: inputs)
                (deferred + n * stride + inputs).update(from: dy + n * units, count: units)
            }
        } else {
            addKernelGradients(samples: batch, x: x, dz: dy, sampleStride: (inputs, units), into: gradients)
        }
        if useBias { for n in 0..<batch { ck_accumulate(dy + n * units, units, gradients + inputs * units) } }
        guard let dx else { return }
        Matmul.rowwise(m: batch, n: inputs, k: units, dy, lda: units, memory.prepared, ldb: inputs, dx, ldc: inputs)
    }
}
