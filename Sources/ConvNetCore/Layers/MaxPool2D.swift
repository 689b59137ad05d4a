/// Max pooling with a square window and stride equal to the window (Keras `MaxPool2D(pool)`),
/// valid padding, so trailing rows/columns that do not fill a window are dropped (floor).
///
/// Shapes: `x[n, h, w, c]` -> `y[n, h / p, w / p, c]`. The forward pass is a plain maximum (channels
/// are innermost in NHWC, so it runs along contiguous channel vectors). The backward pass gives
/// each `dy` to the inputs of its window that equal the maximum, split equally when several do.
/// Exact ties are common (uniform background and saturated strokes give identical receptive
/// fields, and the row-wise kernel keeps them bit-identical); always picking the first would send
/// every tie's gradient to the same corner of the lower layers, a systematic bias that made the
/// weights noisier than Keras's, whose ties fall wherever BLAS rounding puts them.
public struct MaxPool2D: Layer {
    public let kind = "max_pooling2d"
    public let inputShape: TensorShape
    public let pool: Int

    public init(inputShape: TensorShape, pool: Int) {
        precondition(inputShape.rank == 3, "MaxPool2D needs a [height, width, channels] input")
        self.inputShape = inputShape
        self.pool = pool
    }

    var height: Int { inputShape.dimensions[0] }
    var width: Int { inputShape.dimensions[1] }
    var channels: Int { inputShape.dimensions[2] }
    public var outputShape: TensorShape { TensorShape([height / pool, width / pool, channels]) }
    public var parameterShapes: [(name: String, shape: [Int])] { [] }

    /// Calls `body(output offset, offset of the window's top-left input)` for every window.
    @inline(__always)
    private func forEachWindow(batch: Int, _ body: (Int, Int) -> Void) {
        let oh = height / pool, ow = width / pool
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
                        parameters: UnsafePointer<Float>, memory: LayerMemory) {
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
                         memory: LayerMemory) {
        guard let dx else { return }
        // Every input inside a window is written below; only rows and columns that floor drops need zeros.
        if height % pool != 0 || width % pool != 0 { dx.update(repeating: 0, count: batch * inputShape.count) }
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
