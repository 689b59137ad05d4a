/// Keras's default initialisers, as each layer's `TensorSpec`s name them: glorot_uniform kernels,
/// zero biases and betas, unit gammas; moving means zero, moving variances one.
public enum Initialization {
    /// Streams of `SeededGenerator` used by the product, one per purpose.
    public enum Stream: UInt64 { case weights = 1, shuffle = 2 }

    /// Fills `parameters` for `model` from `seed`: each glorot_uniform kernel `U(-limit, limit)` with
    /// `limit = sqrt(6 / (fan_in + fan_out))`, where for a conv kernel `[kh, kw, in, out]`
    /// `fan_in = kh * kw * in` and `fan_out = kh * kw * out` (Keras's receptive-field rule) and for a
    /// dense kernel `[in, out]` the fans are `in` and `out`. Kernels draw from one stream in layer order.
    public static func glorotUniform(_ model: Sequential, seed: UInt64, into parameters: FloatBuffer) {
        precondition(parameters.count == model.parameterCount)
        var generator = SeededGenerator(seed: seed, stream: Stream.weights.rawValue)
        for (view, initializer) in zip(model.parameterLayout.views, model.parameterInitializers) {
            let target = parameters.pointer + view.offset
            guard initializer == .glorotUniform else {
                target.update(repeating: initializer == .ones ? 1 : 0, count: view.count)
                continue
            }
            let (fanIn, fanOut) = fans(view.shape)
            let limit = (6 / Float(fanIn + fanOut)).squareRoot()
            for i in 0..<view.count { target[i] = (2 * generator.nextUnitFloat() - 1) * limit }
        }
    }

    /// Keras `compute_fans`: the last two dimensions are (in, out); any leading ones are the
    /// receptive field, which multiplies both.
    public static func fans(_ shape: [Int]) -> (fanIn: Int, fanOut: Int) {
        if shape.count == 1 { return (shape[0], shape[0]) }
        let receptiveField = shape.dropLast(2).reduce(1, *)
        return (shape[shape.count - 2] * receptiveField, shape[shape.count - 1] * receptiveField)
    }

    /// Fills the non-trainable state (moving means zero, moving variances one).
    public static func initialState(_ model: Sequential, into state: FloatBuffer) {
        precondition(state.count == model.stateCount)
        for (view, initializer) in zip(model.stateLayout.views, model.stateInitializers) {
            (state.pointer + view.offset).update(repeating: initializer == .ones ? 1 : 0, count: view.count)
        }
    }
}
