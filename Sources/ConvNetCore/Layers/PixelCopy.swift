/// Shared by the layers whose every output pixel is one input pixel or a constant (flips, shifts,
/// crops, padding). Shapes: `x[n, inH, inW, c]` -> `y[n, outH, outW, c]`.
///
///     y[n, i, j, :] = x[n, source(n, i, j), :]      or `fill` where the source is nil
///     dx[n, a, b, :] = sum of dy[n, i, j, :] over the (i, j) whose source is (a, b)
///
/// The backward is the forward's adjoint: <y(x), dy> = <x, dx> for every x and dy.
struct PixelCopy {
    var input: (height: Int, width: Int)
    var output: (height: Int, width: Int)
    var channels: Int

    /// For one sample: the input (row, column) that output (i, j) copies, or nil for the fill value.
    typealias Source = (_ i: Int, _ j: Int) -> (row: Int, column: Int)?

    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, fill: Float,
                 source: (_ sample: Int) -> Source) {
        let c = channels, inCount = input.height * input.width * c, outCount = output.height * output.width * c
        for n in 0..<batch {
            let from = source(n), xn = x + n * inCount, yn = y + n * outCount
            for i in 0..<output.height {
                for j in 0..<output.width {
                    let to = yn + (i * output.width + j) * c
                    if let (row, column) = from(i, j) {
                        to.update(from: xn + (row * input.width + column) * c, count: c)
                    } else {
                        to.update(repeating: fill, count: c)
                    }
                }
            }
        }
    }

    /// Overwrites `dx`; sums run in output order, so the bits do not depend on the batch's split.
    func backward(_ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, batch: Int,
                  source: (_ sample: Int) -> Source) {
        let c = channels, inCount = input.height * input.width * c, outCount = output.height * output.width * c
        dx.update(repeating: 0, count: batch * inCount)
        for n in 0..<batch {
            let from = source(n), dxn = dx + n * inCount, dyn = dy + n * outCount
            for i in 0..<output.height {
                for j in 0..<output.width {
                    guard let (row, column) = from(i, j) else { continue }
                    let to = dxn + (row * input.width + column) * c, g = dyn + (i * output.width + j) * c
                    for k in 0..<c { to[k] += g[k] }
                }
            }
        }
    }
}

/// How `random_translation` fills what comes from outside the image (Keras's `fill_mode`), as
/// TensorFlow's `ImageProjectiveTransformV3` maps an integer coordinate `k` of an axis of `size`:
/// `reflect` (d c b a | a b c d | d c b a), `wrap` (a b c d | a b c d), `nearest` (a a | a b c d | d d),
/// `constant` (the fill value). TensorFlow's `wrap` wraps by `size - 1` steps of `size`, then clamps,
/// which differs from a plain modulo only for shifts of the whole size; it is kept for Keras's bits.
public enum FillMode: String, CaseIterable, Sendable {
    case reflect, wrap, constant, nearest

    func source(_ k: Int, size: Int) -> Int? {
        guard k < 0 || k >= size else { return k }
        var c = k
        switch self {
        case .constant: return nil
        case .nearest: break
        case .reflect:
            if size <= 1 { c = 0 } else if c < 0 {
                let twice = 2 * size
                c = twice * (-c / twice) + c
                c = c < -size ? c + twice : -c - 1
            } else {
                let twice = 2 * size
                c -= twice * (c / twice)
                if c >= size { c = twice - c - 1 }
            }
        case .wrap:
            if size <= 1 { c = 0 } else if c < 0 {
                c += size * (-c / (size - 1) + 1)
            } else {
                c -= size * (c / (size - 1))
            }
        }
        return min(max(c, 0), size - 1)
    }
}

extension PixelCopy {
    /// From images of `shape` `[height, width, channels]` to `output` (default: the same size).
    init(image shape: TensorShape, output: (height: Int, width: Int)? = nil) {
        let d = shape.dimensions
        self.init(input: (d[0], d[1]), output: output ?? (d[0], d[1]), channels: d[2])
    }
}

/// A pixel-copy layer whose output is its input's shape (random_flip, random_translation): it takes
/// any NHWC image, and binding only records the image's shape (`inputShape` is set by `bound(to:)`).
public protocol ShapeKeepingImageLayer: Layer {
    var inputShape: TensorShape { get set }
}

extension ShapeKeepingImageLayer {
    public func bound(to inputShape: TensorShape) throws -> Self {
        try inputShape.requireImage(Self.typeName)
        var layer = self
        layer.inputShape = inputShape
        return layer
    }

    public var outputShape: TensorShape { inputShape }
    var copy: PixelCopy { PixelCopy(image: inputShape) }
}
