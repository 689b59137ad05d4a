/// Keras's `clipnorm`: each parameter tensor's gradient is scaled to an L2 norm of at most `clipnorm`,
/// `g = g * clipnorm / max(|g|, clipnorm)`, before the optimizer step.
public enum GradientClipping {
    public static func clip(_ gradient: UnsafeMutablePointer<Float>, layout: ParameterLayout, clipnorm: Float) {
        for view in layout.views {
            let g = gradient + view.offset
            var squares = 0.0
            for i in 0..<view.count { squares += Double(g[i]) * Double(g[i]) }
            let norm = Float(squares.squareRoot())
            guard norm > clipnorm else { continue }
            for i in 0..<view.count { g[i] = g[i] * clipnorm / norm }
        }
    }
}
