/// The activation at the end of `Conv2D` and `Dense`: applied after the row-wise kernel (which
/// fuses ReLU itself), with the pre-activation kept for the backward pass when it needs it.
struct FusedActivation {
    let activation: Activation
    /// Channels the activation normalises over (softmax), the layer's last dimension.
    let width: Int

    /// Whether the row-wise kernel applies it (ReLU), so nothing is left to do.
    var inKernel: Bool { activation == .relu }

    /// Floats of pre-activation this layer must keep for `count` outputs.
    func savedCount(outputs: Int) -> Int { activation.needsInput ? outputs : 0 }

    /// `y` holds the pre-activation on entry and the activation on exit.
    func forward(_ y: UnsafeMutablePointer<Float>, count: Int, preActivation: UnsafeMutablePointer<Float>) {
        if inKernel || activation == .linear { return }
        if activation.needsInput { preActivation.update(from: y, count: count) }
        activation.apply(y, count: count, width: width)
    }

    /// Turns `dy` into the gradient with respect to the pre-activation, unless the loss already did.
    func backward(y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>, count: Int,
                  preActivation: UnsafePointer<Float>, context: PassContext) {
        if context.outputGradientIsPreActivation { return }
        activation.backward(x: preActivation, y: y, dy: dy, count: count, width: width)
    }
}

extension Activation {
    /// Reads a layer's `activation` key (default linear).
    static func read(from config: ConfigTable, key: String = "activation") throws -> Activation {
        guard let name = try config.string(key) else { return .linear }
        guard let activation = Activation(named: name) else {
            throw DescriptionError("\(config.key(key)): unknown activation \"\(name)\" (expected one of \(Activation.names))")
        }
        return activation
    }
}
