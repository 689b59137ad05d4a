/// Max pooling (Keras `MaxPooling2D`).
///
/// Config (`type = "maxpool2d"`): `pool_size` (2; k or [ph, pw]), `strides` (default: the pool size),
/// `padding` (`"valid"` | `"same"`; padded positions never win the maximum).
///
/// Shapes: `x[n, h, w, c]` -> `y[n, oh, ow, c]` (`WindowGeometry`). The forward pass is a plain maximum
/// (channels are innermost in NHWC, so it runs along contiguous channel vectors). The backward pass
/// gives each `dy` to the inputs of its window that equal the maximum, split equally when several do.
/// Exact ties are common (uniform background and saturated strokes give identical receptive
/// fields, and the row-wise kernel keeps them bit-identical); always picking the first would send
/// every tie's gradient to the same corner of the lower layers, a systematic bias that made the
/// weights noisier than Keras's, whose ties fall wherever BLAS rounding puts them.
public struct MaxPool2D: Layer {
    public static let typeName = "maxpool2d"
    public static let kerasClassName = "MaxPooling2D"
    public static let kerasNameStem = "max_pooling2d"

    public let window: PoolWindow
    public private(set) var inputShape = TensorShape([])
    private var geometry: WindowGeometry?

    public init(pool: Int) { window = PoolWindow(size: (pool, pool)) }
    public init(window: PoolWindow) { self.window = window }
    public init(config: ConfigTable) throws { window = try PoolWindow(config: config) }
    public var config: [ConfigEntry] { window.config }
    public func bound(to inputShape: TensorShape) throws -> MaxPool2D {
        var layer = self
        layer.inputShape = inputShape
        layer.geometry = try window.geometry(for: inputShape, layer: Self.typeName)
        return layer
    }

    private var g: WindowGeometry { geometry! }
    var height: Int { g.height }
    var width: Int { g.width }
    var channels: Int { g.channels }
    public var outputShape: TensorShape { TensorShape([g.outHeight, g.outWidth, g.channels]) }
    /// Windows that tile the input without overlap or padding (the usual `pool_size = 2`) take the fast path.
    private var tiles: Bool { g.isTiling }
    private var pool: Int { g.windowHeight }

    /// Calls `body(output offset, offset of the window's top-left input)` for every window.
    @inline(__always)
    private func forEachWindow(batch: Int, _ body: (Int, Int) -> Void) {
        let oh = g.outHeight, ow = g.outWidth
        var out = 0
        for n in 0..<batch {
            let imageBase = n * height * width * channels
            for oy in 0..<oh {
                for ox in 0..<ow {
                    body(out, imageBase + (oy * pool * width + ox * pool) * channels)
                    out += channels
                }
            }
        }
    }

    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                        parameters: UnsafePointer<Float>, memory: LayerMemory, context: PassContext) {
        guard tiles else { return WindowPooling.maxForward(x, y, batch: batch, geometry: g) }
        let channels = channels, width = width, pool = pool
        forEachWindow(batch: batch) { out, corner in
            let best = y + out
            best.update(from: x + corner, count: channels)
            for a in 0..<pool {
                for b in 0..<pool where a > 0 || b > 0 {
                    let row = x + corner + (a * width + b) * channels
                    for c in 0..<channels { best[c] = Swift.max(best[c], row[c]) }
                }
            }
        }
    }

    public func backward(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                         dx: UnsafeMutablePointer<Float>?, batch: Int,
                         parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Double>,
                         memory: LayerMemory, context: PassContext) {
        guard let dx else { return }
        guard tiles else { return WindowPooling.maxBackward(x: x, y: y, dy: dy, dx: dx, batch: batch, geometry: g) }
        // Every input inside a window is written below; only rows and columns that floor drops need zeros.
        if height % pool != 0 || width % g.windowWidth != 0 { dx.update(repeating: 0, count: batch * inputShape.count) }
        let channels = channels, width = width, pool = pool
        let vectorChannels = channels / 8 * 8
        forEachWindow(batch: batch) { out, corner in
            // Eight channels at a time: count the inputs equal to the maximum, then give each its share.
            for c in stride(from: 0, to: vectorChannels, by: 8) {
                let maximum = load8(y + out + c)
                var ties = SIMD8<Float>(repeating: 0)
                for a in 0..<pool {
                    for b in 0..<pool {
                        ties.replace(with: ties + 1, where: load8(x + corner + (a * width + b) * channels + c) .== maximum)
                    }
                }
                let share = load8(dy + out + c) / ties
                for a in 0..<pool {
                    for b in 0..<pool {
                        let offset = corner + (a * width + b) * channels + c
                        let routed = SIMD8<Float>(repeating: 0).replacing(with: share, where: load8(x + offset) .== maximum)
                        UnsafeMutableRawPointer(dx + offset).storeBytes(of: routed, as: SIMD8<Float>.self)
                    }
                }
            }
            for c in vectorChannels..<channels {
                var ties: Float = 0
                for a in 0..<pool { for b in 0..<pool where x[corner + (a * width + b) * channels + c] == y[out + c] { ties += 1 } }
                for a in 0..<pool {
                    for b in 0..<pool {
                        let offset = corner + (a * width + b) * channels + c
                        dx[offset] = x[offset] == y[out + c] ? dy[out + c] / ties : 0
                    }
                }
            }
        }
    }
}

@inline(__always)
private func load8(_ pointer: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(pointer).loadUnaligned(as: SIMD8<Float>.self)
}
