import CKernels
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Activation applied in place at the end of a Conv2D or Dense layer.
public enum Activation: String, Sendable, CaseIterable {
    case linear
    case relu
    /// Only valid on the last layer: its backward pass receives the gradient with respect to the
    /// logits directly from `SoftmaxCrossEntropy`, which fuses softmax with the loss.
    case softmax

    /// Normalises each row of `width` values when the activation is softmax. (ReLU is fused into the
    /// row-wise kernel that produces `y`, see `Matmul.rowwise`.)
    func applySoftmax(_ y: UnsafeMutablePointer<Float>, count: Int, width: Int) {
        guard self == .softmax else { return }
        for row in stride(from: 0, to: count, by: width) { Softmax.normalise(y + row, count: width) }
    }

    /// Turns `dy` (gradient with respect to the activation's output `y`) into the gradient with
    /// respect to its input. For softmax, `dy` already is the logit gradient (see above).
    func backward(y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>, count: Int) {
        if self == .relu { ck_relu_backward(y, dy, count) }
    }
}

public enum Softmax {
    /// In-place numerically stable softmax of one row: `p_i = exp(z_i - max z) / sum_j exp(z_j - max z)`.
    public static func normalise(_ z: UnsafeMutablePointer<Float>, count: Int) {
        var largest = -Float.infinity
        for i in 0..<count { largest = max(largest, z[i]) }
        var sum: Float = 0
        for i in 0..<count {
            let e = expf(z[i] - largest)
            z[i] = e
            sum += e
        }
        let scale = 1 / sum
        for i in 0..<count { z[i] *= scale }
    }
}
