/// Max and average pooling over any `WindowGeometry` (strides, overlap, padding): the general
/// loops behind `MaxPool2D` (whose common tiling case has a faster path) and `AvgPool2D`.
/// Positions in the padding are skipped: they never win a maximum and do not count in an average
/// (Keras's rule for `padding = "same"`).
enum WindowPooling {
    /// Calls `body(output offset, input offsets of the window's cells inside the image)` per window.
    @inline(__always)
    static func forEachWindow(batch: Int, _ g: WindowGeometry, _ body: (Int, [Int]) -> Void) {
        var cells: [Int] = []
        cells.reserveCapacity(g.windowHeight * g.windowWidth)
        var out = 0
        for n in 0..<batch {
            let image = n * g.inputCount
            for oy in 0..<g.outHeight {
                for ox in 0..<g.outWidth {
                    let (top, left) = g.origin(oy, ox)
                    cells.removeAll(keepingCapacity: true)
                    for iy in max(top, 0)..<min(top + g.windowHeight, g.height) {
                        for ix in max(left, 0)..<min(left + g.windowWidth, g.width) {
                            cells.append(image + (iy * g.width + ix) * g.channels)
                        }
                    }
                    body(out, cells)
                    out += g.channels
                }
            }
        }
    }

    static func maxForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, geometry g: WindowGeometry) {
        forEachWindow(batch: batch, g) { out, cells in
            for c in 0..<g.channels {
                var best = -Float.infinity
                for cell in cells { best = max(best, x[cell + c]) }
                y[out + c] = best
            }
        }
    }

    /// Each `dy` is split equally among the window's inputs equal to the maximum, added into `dx`.
    static func maxBackward(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                            dx: UnsafeMutablePointer<Float>, batch: Int, geometry g: WindowGeometry) {
        dx.update(repeating: 0, count: batch * g.inputCount)
        forEachWindow(batch: batch, g) { out, cells in
            for c in 0..<g.channels {
                var ties: Float = 0
                for cell in cells where x[cell + c] == y[out + c] { ties += 1 }
                let share = dy[out + c] / ties
                for cell in cells where x[cell + c] == y[out + c] { dx[cell + c] += share }
            }
        }
    }

    static func averageForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, geometry g: WindowGeometry) {
        forEachWindow(batch: batch, g) { out, cells in
            let scale = 1 / Float(cells.count)
            for c in 0..<g.channels {
                var sum: Float = 0
                for cell in cells { sum += x[cell + c] }
                y[out + c] = sum * scale
            }
        }
    }

    static func averageBackward(dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, batch: Int, geometry g: WindowGeometry) {
        dx.update(repeating: 0, count: batch * g.inputCount)
        forEachWindow(batch: batch, g) { out, cells in
            let scale = 1 / Float(cells.count)
            for c in 0..<g.channels {
                let share = dy[out + c] * scale
                for cell in cells { dx[cell + c] += share }
            }
        }
    }
}
