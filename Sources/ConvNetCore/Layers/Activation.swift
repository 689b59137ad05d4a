import CKernels
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Keras's activation functions, applied element-wise (softmax: along the last axis), as fused into
/// `Conv2D` and `Dense` or as a layer of their own (`ActivationLayer`).
///
///     sigmoid(x) = 1 / (1 + e^-x)              elu(x)  = x > 0 ? x : e^x - 1
///     selu(x)    = s * (x > 0 ? x : a (e^x - 1)),   s = 1.0507009873554805, a = 1.6732632423543772
///     gelu(x)    = x / 2 * (1 + erf(x / sqrt 2))   (Keras's default, exact form)
///     silu(x)    = x * sigmoid(x)  (alias swish)   softplus(x) = log(1 + e^x)
///     leaky_relu(x) = x > 0 ? x : 0.2 x            (Keras 3's default negative slope)
///     softmax(z)_i = e^(z_i - max z) / sum_j e^(z_j - max z)
public enum Activation: String, Sendable, CaseIterable {
    case linear, relu, sigmoid, tanh, softmax, elu, selu, gelu, silu, softplus
    case leakyRelu = "leaky_relu"

    /// The activation a config names; `swish` is Keras's other name for `silu`.
    public init?(named name: String) {
        if name == "swish" { self = .silu; return }
        self.init(rawValue: name)
    }

    public static var names: String { (allCases.map(\.rawValue) + ["swish"]).joined(separator: ", ") }

    static let seluScale: Float = 1.0507009873554805
    static let seluAlpha: Float = 1.6732632423543772
    static let leakySlope: Float = 0.2

    /// The backward pass needs the input `x`, not only the output: the layer must keep a copy.
    public var needsInput: Bool { self == .gelu || self == .silu }

    /// Replaces `count` values by their activation; softmax normalises each row of `width` values.
    /// (ReLU can also be fused into the row-wise kernel that produces the values, see `Matmul.rowwise`.)
    public func apply(_ v: UnsafeMutablePointer<Float>, count: Int, width: Int) {
        switch self {
        case .linear: return
        case .softmax:
            for row in stride(from: 0, to: count, by: width) { Softmax.normalise(v + row, count: width) }
        default:
            for i in 0..<count { v[i] = value(v[i]) }
        }
    }

    @inline(__always) func value(_ x: Float) -> Float {
        switch self {
        case .linear, .softmax: return x
        case .relu: return x > 0 ? x : 0
        case .sigmoid: return Activation.sigmoid(x)
        case .tanh: return tanhf(x)
        case .elu: return x > 0 ? x : expm1f(x)
        case .selu: return Activation.seluScale * (x > 0 ? x : Activation.seluAlpha * expm1f(x))
        case .gelu: return 0.5 * x * (1 + erff(x * 0.70710678118654752))
        case .silu: return x * Activation.sigmoid(x)
        case .softplus: return max(x, 0) + log1pf(expf(-abs(x)))
        case .leakyRelu: return x > 0 ? x : Activation.leakySlope * x
        }
    }

    @inline(__always) static func sigmoid(_ x: Float) -> Float { 1 / (1 + expf(-x)) }

    /// Turns `dy` (gradient with respect to the output `y`) into the gradient with respect to the
    /// input `x` in place. `x` is needed only when `needsInput`.
    public func backward(x: UnsafePointer<Float>?, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                         count: Int, width: Int) {
        switch self {
        case .linear: return
        case .relu: ck_relu_backward(y, dy, count)
        case .softmax:
            // dx_i = y_i (dy_i - sum_j y_j dy_j), the softmax Jacobian applied to dy.
            for row in stride(from: 0, to: count, by: width) {
                var dot: Float = 0
                for j in row..<(row + width) { dot += y[j] * dy[j] }
                for j in row..<(row + width) { dy[j] = y[j] * (dy[j] - dot) }
            }
        case .gelu, .silu:
            let x = x!
            for i in 0..<count { dy[i] *= derivative(x: x[i], y: y[i]) }
        default:
            for i in 0..<count { dy[i] *= derivative(x: 0, y: y[i]) }
        }
    }

    /// d y / d x, from the output where the output determines it.
    @inline(__always) func derivative(x: Float, y: Float) -> Float {
        switch self {
        case .linear, .softmax: return 1
        case .relu: return y > 0 ? 1 : 0
        case .sigmoid: return y * (1 - y)
        case .tanh: return 1 - y * y
        case .elu: return y > 0 ? 1 : y + 1
        case .selu: return y > 0 ? Activation.seluScale : y + Activation.seluScale * Activation.seluAlpha
        case .gelu: return 0.5 * (1 + erff(x * 0.70710678118654752)) + x * expf(-0.5 * x * x) * 0.39894228040143268
        case .silu:
            let s = Activation.sigmoid(x)
            return s * (1 + x * (1 - s))
        case .softplus: return -expm1f(-y)   // sigmoid(x) = 1 - e^-softplus(x)
        case .leakyRelu: return y > 0 ? 1 : Activation.leakySlope
        }
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
