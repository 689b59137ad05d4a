/// Max pooling with a square window and stride equal to the window (Keras `MaxPool2D(pool)`),
/// valid padding, so trailing rows/columns that do not fill a window are dropped (floor).
///
/// Shapes: `x[n, h, w, c]` -> `y[n, h / p, w / p, c]`. The forward pass saves, per output, the
/// index (within the batch) of the input that won; backward routes each `dy` to that input.
/// Ties go to the first maximum in row-major window order.
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
    public func indexCount(batch: Int) -> Int { batch * outputShape.count }

    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                        parameters: UnsafePointer<Float>, memory: LayerMemory) {
        let oh = height / pool, ow = width / pool
        var out = 0
        for n in 0..<batch {
            let imageBase = n * height * width * channels
            for oy in 0..<oh {
                for ox in 0..<ow {
                    let corner = imageBase + (oy * pool * width + ox * pool) * channels
                    for c in 0..<channels {
                        var best = corner + c
                        for a in 0..<pool {
                            for b in 0..<pool {
                                let index = corner + (a * width + b) * channels + c
                                if x[index] > x[best] { best = index }
                            }
                        }
                        y[out] = x[best]
                        memory.indices[out] = Int32(best)
                        out += 1
                    }
                }
            }
        }
    }

    public func backward(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                         dx: UnsafeMutablePointer<Float>?, batch: Int,
                         parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Double>,
                         memory: LayerMemory) {
        guard let dx else { return }
        dx.update(repeating: 0, count: batch * inputShape.count)
        for i in 0..<(batch * outputShape.count) { dx[Int(memory.indices[i])] += dy[i] }
    }
}
