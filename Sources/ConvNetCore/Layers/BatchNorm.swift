import CKernels

/// Batch normalisation over the channel (last) axis (Keras `BatchNormalization`).
///
/// Config (`type = "batchnorm"`): `momentum` (0.99), `epsilon` (0.001), `center` (true: learn `beta`),
/// `scale` (true: learn `gamma`). Input `[h, w, c]` or `[c]`; output the same shape.
/// Parameters `gamma[c]` (ones), `beta[c]` (zeros); state `moving_mean[c]` (zeros), `moving_variance[c]` (ones).
///
///     y = gamma * (x - mean) / sqrt(var + epsilon) + beta
///
/// In training, `mean` and `var` (biased, `E[x^2] - E[x]^2` as Keras computes them) are those of the
/// **global** batch: every sample on every rank, over all positions. The runner sums each rank's
/// `addForwardStatistics` across threads and ranks before `forward`, as synchronised batch norm
/// does, so training does not depend on the number of ranks. The moving averages then move once
/// per step, `moving = momentum * moving + (1 - momentum) * batch`, identically on every rank.
/// Evaluation uses the moving averages. With `B` values per channel in the global batch and
/// `xhat = (x - mean) / sqrt(var + epsilon)`, the backward pass of the summed loss is
///
///     dgamma = sum dy * xhat,   dbeta = sum dy,
///     dx = gamma / sqrt(var + epsilon) * (dy - sum(dy) / B - xhat * sum(dy * xhat) / B)
///
/// whose two sums are again global (`addBackwardStatistics`).
public struct BatchNorm: Layer, GlobalBatchStatistics, FusesOutputReLU, FoldableNormalization {
    public static let typeName = "batchnorm"
    public static let kerasClassName = "BatchNormalization"

    public let momentum: Float
    public let epsilon: Float
    public let center: Bool
    public let scale: Bool
    public private(set) var inputShape = TensorShape([])

    public init(momentum: Float = 0.99, epsilon: Float = 0.001, center: Bool = true, scale: Bool = true) {
        self.momentum = momentum
        self.epsilon = epsilon
        self.center = center
        self.scale = scale
    }

    public init(config: ConfigTable) throws {
        self.init(momentum: try config.float("momentum", in: 0...1) ?? 0.99,
                  epsilon: try config.float("epsilon", in: 1e-30...1, openLower: false) ?? 0.001,
                  center: try config.bool("center") ?? true, scale: try config.bool("scale") ?? true)
    }

    public var config: [ConfigEntry] {
        var entries: [ConfigEntry] = []
        if momentum != 0.99 { entries.append(ConfigEntry("momentum", .float(momentum))) }
        if epsilon != 0.001 { entries.append(ConfigEntry("epsilon", .float(epsilon))) }
        if !center { entries.append(ConfigEntry("center", .bool(false))) }
        if !scale { entries.append(ConfigEntry("scale", .bool(false))) }
        return entries
    }

    public func bound(to inputShape: TensorShape) throws -> BatchNorm {
        guard inputShape.rank == 1 || inputShape.rank == 3 else {
            throw DescriptionError("batchnorm needs an input [height, width, channels] or [units], got \(inputShape)")
        }
        var layer = self
        layer.inputShape = inputShape
        return layer
    }

    public var outputShape: TensorShape { inputShape }
    var channels: Int { inputShape.dimensions.last! }
    /// Values of one channel in one sample.
    var positions: Int { inputShape.count / channels }
    public var parameters: [TensorSpec] {
        (scale ? [TensorSpec("gamma", [channels], .ones)] : []) + (center ? [TensorSpec("beta", [channels], .zeros)] : [])
    }
    public var stateTensors: [TensorSpec] {
        [TensorSpec("moving_mean", [channels], .zeros), TensorSpec("moving_variance", [channels], .ones)]
    }
    public func scratchCount(batch: Int) -> Int { 6 * channels }

    // Statistics layout: [count, sum x (c), sum x^2 (c), sum dy (c), sum dy * xhat (c)].
    public var statisticsCount: Int { 1 + 4 * channels }
    /// `FoldableNormalization`: where `sum dy` starts in the statistics.
    public var backwardSumsOffset: Int { 1 + 2 * channels }

    /// Per sample, Float sums over its positions in position order, added in Double (see `Layer`):
    /// `first += sum x, second += sum x * x`, or with `dy` and `moment` (mean, then `1 / sqrt(var + epsilon)`),
    /// `first += sum dy, second += sum dy * (x - mean) * inverse`.
    /// With `relu` (the forward pass's scale, then shift), `dy` is the gradient with respect to the ReLU
    /// after this layer, masked here as the ReLU's backward would (`FusesOutputReLU`).
    private func addPerSample(x: UnsafePointer<Float>, dy: UnsafePointer<Float>?, moment: UnsafePointer<Float>?, batch: Int,
                              relu: UnsafePointer<Float>? = nil,
                              first: UnsafeMutablePointer<Double>, second: UnsafeMutablePointer<Double>) {
        var scratch = [Float](repeating: 0, count: 2 * channels)
        if let relu, let dy, let moment {
            ck_batch_norm_relu_sums(x, dy, relu, relu + channels, moment, moment + channels, Int32(batch), Int32(positions),
                                    Int32(channels), &scratch, first, second)
            return
        }
        ck_batch_norm_sums(x, dy, moment, moment.map { $0 + channels }, Int32(batch), Int32(positions), Int32(channels),
                           &scratch, first, second)
    }

    public func addForwardStatistics(_ x: UnsafePointer<Float>, batch: Int, into sums: UnsafeMutablePointer<Double>) {
        sums[0] += Double(batch * positions)
        addPerSample(x: x, dy: nil, moment: nil, batch: batch, first: sums + 1, second: sums + 1 + channels)
    }

    /// Mean and `1 / sqrt(var + epsilon)` per channel: of the global batch in training, else the moving averages.
    private func moments(statistics s: UnsafePointer<Double>, state: UnsafePointer<Float>?, training: Bool,
                         into out: UnsafeMutablePointer<Float>) {
        let c = channels
        for k in 0..<c {
            let mean: Float, variance: Float
            if training {
                let count = s[0]
                let m = s[1 + k] / count
                mean = Float(m)
                variance = Float(max(s[1 + c + k] / count - m * m, 0))
            } else {
                mean = state![k]
                variance = state![c + k]
            }
            out[k] = mean
            out[c + k] = 1 / (variance + epsilon).squareRoot()
        }
    }

    public func addBackwardStatistics(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, batch: Int,
                                      statistics: UnsafePointer<Double>, into sums: UnsafeMutablePointer<Double>) {
        let c = channels
        var moment = [Float](repeating: 0, count: 2 * c)
        moments(statistics: statistics, state: nil, training: true, into: &moment)
        addPerSample(x: x, dy: dy, moment: moment, batch: batch, first: sums + backwardSumsOffset, second: sums + backwardSumsOffset + c)
    }

    /// `addBackwardStatistics` when this layer runs the ReLU after it (`FusesOutputReLU`): `dy` is the
    /// gradient with respect to the ReLU's output, masked here as its backward pass would.
    public func addBackwardStatisticsThroughReLU(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, batch: Int,
                                                 parameters: UnsafePointer<Float>, statistics: UnsafePointer<Double>,
                                                 into sums: UnsafeMutablePointer<Double>) {
        let c = channels
        var moment = [Float](repeating: 0, count: 4 * c)
        moment.withUnsafeMutableBufferPointer { moment in
            let moment = moment.baseAddress!
            moments(statistics: statistics, state: nil, training: true, into: moment)
            scaleAndShift(parameters, moment: moment, into: moment + 2 * c)
            addPerSample(x: x, dy: dy, moment: moment, batch: batch, relu: moment + 2 * c,
                         first: sums + backwardSumsOffset, second: sums + backwardSumsOffset + c)
        }
    }

    public func updateState(_ state: UnsafeMutablePointer<Float>, statistics: UnsafePointer<Double>) {
        let c = channels, count = statistics[0]
        for k in 0..<c {
            let m = statistics[1 + k] / count
            let mean = Float(m), variance = Float(max(statistics[1 + c + k] / count - m * m, 0))
            state[k] = state[k] * momentum + mean * (1 - momentum)
            state[c + k] = state[c + k] * momentum + variance * (1 - momentum)
        }
    }

    private func gammaBeta(_ parameters: UnsafePointer<Float>, _ k: Int) -> (Float, Float) {
        (scale ? parameters[k] : 1, center ? parameters[(scale ? channels : 0) + k] : 0)
    }

    /// The forward pass's `y = x * scale + shift` from the moments (mean, inverse): `scale[c]`, then `shift[c]`.
    private func scaleAndShift(_ parameters: UnsafePointer<Float>, moment: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let c = channels
        for k in 0..<c {
            let (gamma, beta) = gammaBeta(parameters, k)
            let inverse = moment[c + k] * gamma
            out[k] = inverse
            out[c + k] = beta - moment[k] * inverse
        }
    }

    /// `FoldableNormalization`: the moments (mean, inverse) that `forward` and the backward sums use, then `scale`, `shift`.
    public func normalization(parameters: UnsafePointer<Float>, statistics: UnsafePointer<Double>, state: UnsafePointer<Float>,
                              training: Bool, into out: UnsafeMutablePointer<Float>) {
        moments(statistics: statistics, state: state, training: training, into: out)
        scaleAndShift(parameters, moment: out, into: out + 2 * channels)
    }

    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                        parameters: UnsafePointer<Float>, memory: LayerMemory, context: PassContext) {
        forward(x, y, relu: false, batch: batch, parameters: parameters, memory: memory, context: context)
    }

    public func forwardReLU(inputs xs: [UnsafePointer<Float>], _ y: UnsafeMutablePointer<Float>, batch: Int,
                            parameters: UnsafePointer<Float>, memory: LayerMemory, context: PassContext) {
        forward(xs[0], y, relu: true, batch: batch, parameters: parameters, memory: memory, context: context)
    }

    private func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, relu: Bool, batch: Int,
                         parameters: UnsafePointer<Float>, memory: LayerMemory, context: PassContext) {
        let c = channels, moment = memory.scratch
        moments(statistics: memory.statistics, state: memory.state, training: context.training, into: moment)
        scaleAndShift(parameters, moment: moment, into: moment + 2 * c)
        if relu { return ck_batch_norm_relu_forward(x, batch * positions, Int32(c), moment + 2 * c, moment + 3 * c, y) }
        ck_batch_norm_forward(x, batch * positions, Int32(c), moment + 2 * c, moment + 3 * c, y)
    }

    public func backward(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                         dx: UnsafeMutablePointer<Float>?, batch: Int,
                         parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Double>,
                         memory: LayerMemory, context: PassContext) {
        backward(x: x, dy: dy, dx: dx, relu: false, batch: batch, parameters: parameters, gradients: gradients,
                 memory: memory, context: context)
    }

    public func backwardReLU(inputs xs: [UnsafePointer<Float>], y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                             dxs: [UnsafeMutablePointer<Float>?], batch: Int,
                             parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Double>,
                             memory: LayerMemory, context: PassContext) {
        backward(x: xs[0], dy: dy, dx: dxs[0], relu: true, batch: batch, parameters: parameters, gradients: gradients,
                 memory: memory, context: context)
    }

    /// With `relu`, `dy` is the gradient with respect to the ReLU after this layer, and every use masks
    /// it as that ReLU's backward pass would, from the forward pass's pre-activation recomputed from `x`.
    private func backward(x: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>, dx: UnsafeMutablePointer<Float>?, relu: Bool,
                          batch: Int, parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Double>,
                          memory: LayerMemory, context: PassContext) {
        let c = channels, moment = memory.scratch
        moments(statistics: memory.statistics, state: memory.state, training: context.training, into: moment)
        // Scale and shift after the four input-gradient vectors (moment[0..<4c]).
        if relu { scaleAndShift(parameters, moment: moment, into: moment + 4 * c) }
        // Parameter gradients, per sample in Float, added in Double.
        var scratch = [Float](repeating: 0, count: c)
        let perChannel = UnsafeMutablePointer<Double>.allocate(capacity: 2 * c)
        defer { perChannel.deallocate() }
        perChannel.initialize(repeating: 0, count: 2 * c)
        if let own = memory.shareBackwardStatistics {   // the same sums, already made for the global ones
            (perChannel + c).update(from: own + 1 + 2 * c, count: c)
            perChannel.update(from: own + 1 + 3 * c, count: c)
        } else {
            addPerSample(x: x, dy: dy, moment: moment, batch: batch, relu: relu ? moment + 4 * c : nil,
                         first: perChannel + c, second: perChannel)
        }
        var next = 0
        if scale { for k in 0..<c { gradients[k] += perChannel[k] }; next = c }
        if center { for k in 0..<c { gradients[next + k] += perChannel[c + k] } }
        guard let dx else { return }
        let s = memory.statistics, count = context.training ? Float(s[0]) : 0
        for k in 0..<c {
            let (gamma, _) = gammaBeta(parameters, k)
            moment[2 * c + k] = gamma * moment[c + k]
            moment[3 * c + k] = context.training ? Float(s[1 + 2 * c + k]) / count : 0   // mean dy
            scratch[k] = context.training ? Float(s[1 + 3 * c + k]) / count : 0       // mean dy * xhat
        }
        if relu {
            return ck_batch_norm_relu_input_gradient(x, dy, batch * positions, Int32(c), moment + 4 * c, moment + 5 * c, moment,
                                                     moment + c, moment + 2 * c, moment + 3 * c, scratch, dx)
        }
        ck_batch_norm_input_gradient(x, dy, batch * positions, Int32(c), moment, moment + c, moment + 2 * c, moment + 3 * c,
                                     scratch, dx)
    }
}
