import CKernels

/// 2-D convolution (Keras `Conv2D`) with optional bias and a fused activation.
///
/// Config (`type = "conv2d"`): `filters`, `kernel_size` (k or [kh, kw]), `strides` (1), `padding`
/// (`"valid"` | `"same"`), `activation` (`"linear"`), `use_bias` (true), `kernel_regularizer`, `convolution`
/// (`"direct"` | `"winograd"`: `WinogradConvolution`; unset: the model's `convolution`, else direct).
///
/// Shapes: `x[n, h, w, c]` -> `y[n, oh, ow, filters]` (`WindowGeometry` gives `oh`, `ow`);
/// parameters `kernel[kh, kw, c, filters]` (Keras HWIO) then `bias[filters]`.
///
///     y[n, i, j, o] = act(bias[o] + sum_{a, b, c} xpad[n, i * sh + a, j * sw + b, c] * kernel[a, b, c, o])
///
/// Computed as im2col followed by a matrix product, `Y[n*oh*ow, filters] = col[n*oh*ow, kh*kw*c] * K`,
/// with the row-wise kernel (`Matmul.rowwise`), so identical receptive fields give bit-identical
/// outputs and max-pool ties stay ties. `col` is saved for the kernel gradient `dK = col^T * dY`
/// (per sample, the same kernel reading `col` as transposed), and the input gradient is `col2im(dY * K^T)`.
/// Where `DirectConvolution` suits the shape, the same sums run on `x` itself (or, when a window
/// reaches into the padding, on each sample's zero-padded copy), without `col`. `DirectConvolution.suits`
/// accepts more shapes when the model never asks for the input gradient (`inputGradientNeeded`
/// false: a model's first layer), since the direct input-gradient kernel is what needs wide rows.
public struct Conv2D: Layer, ActivatedOutput, PreparedParameters, EndsInReLU, CostModel {
    public static let typeName = "conv2d"
    public static let kerasClassName = "Conv2D"

    public let filters: Int
    public let kernelSize: (Int, Int)
    public let strides: (Int, Int)
    public let padding: Padding
    public let activation: Activation
    public let useBias: Bool
    public let kernelRegularizer: Regularizer?
    /// The algorithm asked for (nil: direct); `winograd` only where `ConvolutionAlgorithm.winogradSuits`.
    public internal(set) var convolution: ConvolutionAlgorithm?
    /// Whether backward is ever asked for this layer's input gradient (`withoutInputGradient`); without
    /// it, the direct route suits more shapes. Either way the same bits.
    public private(set) var inputGradientNeeded = true
    public private(set) var inputShape = TensorShape([])
    private var geometry: WindowGeometry?

    public init(filters: Int, kernelSize: (Int, Int), strides: (Int, Int) = (1, 1), padding: Padding = .valid,
                activation: Activation = .linear, useBias: Bool = true, kernelRegularizer: Regularizer? = nil,
                convolution: ConvolutionAlgorithm? = nil) {
        self.filters = filters
        self.kernelSize = kernelSize
        self.strides = strides
        self.padding = padding
        self.activation = activation
        self.useBias = useBias
        self.kernelRegularizer = kernelRegularizer
        self.convolution = convolution
    }

    public init(config: ConfigTable) throws {
        guard let filters = try config.int("filters", min: 1, max: 1 << 16) else { throw DescriptionError("missing key \(config.key("filters"))") }
        guard let kernel = try config.intOrPair("kernel_size", min: 1) else { throw DescriptionError("missing key \(config.key("kernel_size"))") }
        self.init(filters: filters, kernelSize: kernel, strides: try config.intOrPair("strides", min: 1) ?? (1, 1),
                  padding: Padding(rawValue: try config.choice("padding", Padding.allCases.map(\.rawValue)) ?? "valid")!,
                  activation: try Activation.read(from: config), useBias: try config.bool("use_bias") ?? true,
                  kernelRegularizer: try Regularizer.read("kernel_regularizer", from: config),
                  convolution: try config.choice("convolution", ConvolutionAlgorithm.allCases.map(\.rawValue)).flatMap(ConvolutionAlgorithm.init))
        if convolution == .winograd && !ConvolutionAlgorithm.winogradSuits(kernelSize: kernelSize, strides: strides) {
            throw DescriptionError("\(config.key("convolution")) = \"winograd\" needs kernel_size 3 and strides 1; remove it or use \"direct\"")
        }
    }

    /// This layer computing by Winograd if `model` is `.winograd` and its shape suits, unless it names its own algorithm.
    public func following(model: ConvolutionAlgorithm) -> Conv2D {
        var layer = self
        if convolution == nil && model == .winograd && ConvolutionAlgorithm.winogradSuits(kernelSize: kernelSize, strides: strides) {
            layer.convolution = .winograd
        }
        return layer
    }

    /// This layer for a place where backward never asks for its input gradient (a model's first layer
    /// with parameters, `Sequential`); asked anyway, it still computes it, slower.
    public func withoutInputGradient() -> Conv2D {
        var layer = self
        layer.inputGradientNeeded = false
        return layer
    }

    public var config: [ConfigEntry] {
        var entries = [ConfigEntry("filters", .int(filters)), ConfigEntry("kernel_size", .pair(kernelSize))]
        if strides != (1, 1) { entries.append(ConfigEntry("strides", .pair(strides))) }
        if padding != .valid { entries.append(ConfigEntry("padding", .string(padding.rawValue))) }
        entries.append(ConfigEntry("activation", .string(activation.rawValue)))
        if !useBias { entries.append(ConfigEntry("use_bias", .bool(false))) }
        if let kernelRegularizer { entries.append(ConfigEntry("kernel_regularizer", kernelRegularizer.configValue)) }
        if let convolution { entries.append(ConfigEntry("convolution", .string(convolution.rawValue))) }
        return entries
    }

    public func bound(to inputShape: TensorShape) throws -> Conv2D {
        try inputShape.requireImage("conv2d")
        var layer = self
        layer.inputShape = inputShape
        do {
            layer.geometry = try WindowGeometry(input: inputShape, window: kernelSize, strides: strides, padding: padding)
        } catch let error as DescriptionError {
            throw DescriptionError("kernel_size: \(error.description)")
        }
        return layer
    }

    private var g: WindowGeometry { geometry! }
    var channels: Int { inputShape.dimensions[2] }
    /// Length of one im2col row: the receptive field of one output position.
    var patchLength: Int { g.patchLength }
    private var fused: FusedActivation { FusedActivation(activation: activation, width: filters) }
    /// Without the im2col matrix where that pays (`DirectConvolution`); the same bits either way.
    var isDirect: Bool { !isWinograd && DirectConvolution.suits(g, inputGradient: inputGradientNeeded) }
    var isWinograd: Bool { convolution == .winograd }
    /// How the sums run: `winograd`, `direct` (`DirectConvolution`) or `im2col`.
    public var route: String { isWinograd ? "winograd" : isDirect ? "direct" : "im2col" }

    public var outputShape: TensorShape { TensorShape([g.outHeight, g.outWidth, filters]) }
    public var parameters: [TensorSpec] {
        [TensorSpec("kernel", [kernelSize.0, kernelSize.1, channels, filters], .glorotUniform, regularizer: kernelRegularizer)]
            + (useBias ? [TensorSpec("bias", [filters], .zeros)] : [])
    }
    /// The im2col route's rows: a receptive field, then a 1 when there is a bias (see `backward`).
    private var colStride: Int { patchLength + (useBias ? 1 : 0) }
    private func colCount(batch: Int) -> Int { isDirect || isWinograd ? 0 : batch * g.positions * colStride }
    public func savedCount(batch: Int) -> Int { colCount(batch: batch) + fused.savedCount(outputs: batch * outputShape.count) }
    /// im2col's input-gradient matrix, or Winograd's transforms and tile blocks; on the direct route one
    /// sample's padded input, then the bias gradients (`scratchCount` is affine in the batch, `MemoryEstimate`).
    public func scratchCount(batch: Int) -> Int {
        if isWinograd { return max(WinogradConvolution.scratchCount(geometry: g, filters: filters, batch: batch), batch * filters) }
        if isDirect { return DirectConvolution.scratchCount(g) + batch * filters }
        return max(batch * g.positions * patchLength, batch * filters)
    }
    /// The kernel as `[filters, kh * kw * c]`, the right-hand side of the input gradient `dY * K^T`.
    public var preparedCount: Int {
        isWinograd ? WinogradConvolution.preparedCount(channels: channels, filters: filters) : patchLength * filters
    }
    public func prepare(parameters: UnsafePointer<Float>, into prepared: UnsafeMutablePointer<Float>) {
        if isWinograd { return WinogradConvolution.prepare(kernel: parameters, channels: channels, filters: filters, into: prepared) }
        Matmul.transpose(parameters, rows: patchLength, columns: filters, into: prepared)
    }
    public var forwardMultiplyAdds: Int { g.positions * patchLength * filters }
    public var endsInReLU: Bool { activation == .relu }
    public var forwardProduct: (rowsPerSample: Int, columns: Int, depth: Int)? { (g.positions, filters, patchLength) }

    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                        parameters: UnsafePointer<Float>, memory: LayerMemory, context: PassContext) {
        let rows = batch * g.positions
        let kernel = parameters, bias = useBias ? parameters + patchLength * filters : nil
        if isWinograd {
            WinogradConvolution.forward(x, batch: batch, geometry: g, kernel: kernel, filters: filters, bias: bias,
                                        relu: fused.inKernel, y, scratch: memory.scratch)
        } else if isDirect {
            DirectConvolution.forward(x, batch: batch, geometry: g, kernel: kernel, filters: filters, bias: bias,
                                      relu: fused.inKernel, y, scratch: memory.scratch)
        } else {
            let col = memory.saved
            Im2Col.im2col(x, batch: batch, geometry: g, onesColumn: useBias, col)
            Matmul.rowwise(m: rows, n: filters, k: patchLength, col, lda: colStride, kernel, ldb: filters,
                           y, ldc: filters, bias: bias, relu: fused.inKernel)
        }
        fused.forward(y, count: rows * filters, preActivation: memory.saved + colCount(batch: batch))
    }

    public func backward(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                         dx: UnsafeMutablePointer<Float>?, batch: Int,
                         parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Double>,
                         memory: LayerMemory, context: PassContext) {
        let positions = g.positions, rows = batch * positions
        fused.backward(y: y, dy: dy, count: rows * filters, preActivation: memory.saved + colCount(batch: batch), context: context)
        // Per sample: dK_n = col_n^T * dY_n and dBias_n = sum over positions of dY_n, in Float with the
        // row-wise kernel (fixed shapes, so the result depends on the sample alone), added in Double.
        let kernelCount = patchLength * filters
        if isWinograd {
            WinogradConvolution.addKernelGradients(x: x, dy: dy, batch: batch, geometry: g, filters: filters, into: gradients,
                                                   scratch: memory.scratch)
        } else if isDirect {
            DirectConvolution.addKernelGradients(x: x, dy: dy, batch: batch, geometry: g, filters: filters, into: gradients,
                                                 scratch: memory.scratch)
        } else {
            // With a bias, im2col's ones column makes this product's last row the bias gradient (it
            // follows the kernel in `gradients`): fma(1, dy, s) = s + dy, in position order from 0,
            // the bits of the column sums below, without their pass over dY (conv1: 86 KB a sample).
            Matmul.addWeightGradients(samples: batch, m: colStride, n: filters, k: positions,
                                      memory.saved, lda: colStride, sampleStrideA: positions * colStride,
                                      dy, ldb: filters, sampleStrideB: positions * filters, into: gradients, ldc: filters)
        }
        if useBias && (isDirect || isWinograd) {
            let biasGradients = memory.scratch   // [batch, filters]: each sample's sum over positions
            ck_column_sums_samples(dy, Int32(batch), Int32(positions), Int32(filters), biasGradients)
            for n in 0..<batch { ck_accumulate(biasGradients + n * filters, filters, gradients + kernelCount) }
        }
        guard let dx else { return }
        if isWinograd {
            return WinogradConvolution.inputGradient(dy: dy, batch: batch, geometry: g, prepared: memory.prepared,
                                                     filters: filters, dx, scratch: memory.scratch)
        }
        if isDirect {
            return DirectConvolution.paddedInputGradient(dy: dy, kernelTransposed: memory.prepared, batch: batch,
                                                         geometry: g, filters: filters, dx)
        }
        let colGradient = memory.scratch
        Matmul.rowwise(m: rows, n: patchLength, k: filters, dy, lda: filters, memory.prepared, ldb: patchLength,
                       colGradient, ldc: patchLength)
        Im2Col.col2im(colGradient, batch: batch, geometry: g, dx)
    }
}
