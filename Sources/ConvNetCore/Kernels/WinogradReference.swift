/// Naive Winograd F(2x2, 3x3), one tile at a time, the reference `WinogradConvolution` is tested
/// against bit for bit: the same transforms in the same order, and each tile element's sum over
/// channels one fused multiply-add chain from 0 in channel order (as the row-wise kernel's).
/// Shapes as `ck_winograd`: `x[batch, height, width, channels]` read with `pad` zeros before each
/// row and column, 3x3 HWIO `kernel[3, 3, channels, filters]`, `y[batch, outHeight, outWidth, filters]`.
public enum WinogradReference {
    /// `G [g0 g1 g2]^T`, `B^T [d0 .. d3]^T` and `A^T [m0 .. m3]^T` of one column.
    static func g(_ g0: Float, _ g1: Float, _ g2: Float) -> [Float] {
        let half: Float = 0.5
        return [g0, (g0 + g1 + g2) * half, (g0 - g1 + g2) * half, g2]
    }
    static func bt(_ d0: Float, _ d1: Float, _ d2: Float, _ d3: Float) -> [Float] { [d0 - d2, d1 + d2, d2 - d1, d1 - d3] }
    static func at(_ m0: Float, _ m1: Float, _ m2: Float, _ m3: Float) -> [Float] { [m0 + m1 + m2, m1 - m2 - m3] }

    /// `G g G^T` for one 3x3 kernel slice `g[a][b]`, as 16 values in row order.
    static func kernelTransform(_ k: [[Float]]) -> [Float] {
        let t = (0..<3).map { b in g(k[0][b], k[1][b], k[2][b]) }
        return (0..<4).flatMap { a in g(t[0][a], t[1][a], t[2][a]) }
    }

    /// `B^T d B` for one 4x4 tile `d[a][b]`, 16 values in row order.
    static func inputTransform(_ d: [[Float]]) -> [Float] {
        let s = (0..<4).map { b in bt(d[0][b], d[1][b], d[2][b], d[3][b]) }
        return (0..<4).flatMap { a in bt(s[0][a], s[1][a], s[2][a], s[3][a]) }
    }

    /// `A^T m A` for one tile's 16 products, the 2x2 outputs in row order.
    static func outputTransform(_ m: [Float]) -> [Float] {
        let s = (0..<4).map { q in at(m[q], m[4 + q], m[8 + q], m[12 + q]) }
        return (0..<2).flatMap { a in at(s[0][a], s[1][a], s[2][a], s[3][a]) }
    }

    public static func convolution(x: [Float], batch: Int, height: Int, width: Int, channels: Int, pad: Int,
                                   outHeight: Int, outWidth: Int, kernel: [Float], filters: Int,
                                   bias: [Float]?, relu: Bool) -> [Float] {
        // u[(c * filters + k) * 16 + e]
        var u = [Float](repeating: 0, count: channels * filters * 16)
        for c in 0..<channels {
            for k in 0..<filters {
                let g = (0..<3).map { a in (0..<3).map { b in kernel[((a * 3 + b) * channels + c) * filters + k] } }
                for (e, value) in kernelTransform(g).enumerated() { u[(c * filters + k) * 16 + e] = value }
            }
        }
        var y = [Float](repeating: 0, count: batch * outHeight * outWidth * filters)
        for n in 0..<batch {
            for ty in 0..<((outHeight + 1) / 2) {
                for tx in 0..<((outWidth + 1) / 2) {
                    let v = (0..<channels).map { c in
                        inputTransform((0..<4).map { a in (0..<4).map { b in
                            let row = 2 * ty - pad + a, column = 2 * tx - pad + b
                            let inside = row >= 0 && row < height && column >= 0 && column < width
                            return inside ? x[((n * height + row) * width + column) * channels + c] : 0
                        } })
                    }
                    for k in 0..<filters {
                        let m = (0..<16).map { e in
                            (0..<channels).reduce(Float(0)) { sum, c in sum.addingProduct(v[c][e], u[(c * filters + k) * 16 + e]) }
                        }
                        for (i, value) in outputTransform(m).enumerated() {
                            let oy = 2 * ty + i / 2, ox = 2 * tx + i % 2
                            guard oy < outHeight && ox < outWidth else { continue }
                            let out = bias.map { value + $0[k] } ?? value
                            y[((n * outHeight + oy) * outWidth + ox) * filters + k] = relu && !(out > 0) ? 0 : out
                        }
                    }
                }
            }
        }
        return y
    }

    /// The input gradient's kernel: `kernel` rotated 180 degrees with channels and filters swapped, HWIO.
    public static func flipped(_ kernel: [Float], channels: Int, filters: Int) -> [Float] {
        var out = [Float](repeating: 0, count: kernel.count)
        for a in 0..<3 {
            for b in 0..<3 {
                for c in 0..<channels {
                    for k in 0..<filters { out[((a * 3 + b) * filters + k) * channels + c] = kernel[(((2 - a) * 3 + 2 - b) * channels + c) * filters + k] }
                }
            }
        }
        return out
    }

    /// `A [d0 d1]^T` of one column and `G^T [m0 .. m3]^T` (the kernel gradient's transforms).
    static func a(_ d0: Float, _ d1: Float) -> [Float] { [d0, d0 + d1, d0 - d1, -d1] }
    static func gt(_ m0: Float, _ m1: Float, _ m2: Float, _ m3: Float) -> [Float] {
        let half: Float = 0.5
        return [m0 + (m1 + m2) * half, (m1 - m2) * half, (m1 + m2) * half + m3]
    }

    /// The kernel gradient `ck_winograd_kernel_gradient` computes, added to `dKernel` (HWIO, Double):
    /// per sample, each tile element's sum over the sample's tiles as one fused multiply-add chain per
    /// block of `tileBlock` tiles (tile order, from 0), the blocks added in order; then `G^T dU G`.
    public static func kernelGradient(x: [Float], dy: [Float], batch: Int, height: Int, width: Int, channels: Int, pad: Int,
                                      outHeight: Int, outWidth: Int, filters: Int, tileBlock: Int, into dKernel: inout [Double]) {
        let th = (outHeight + 1) / 2, tw = (outWidth + 1) / 2
        for n in 0..<batch {
            // v[t][c], w[t][k]: 16 values each.
            var v: [[[Float]]] = [], w: [[[Float]]] = []
            for ty in 0..<th {
                for tx in 0..<tw {
                    v.append((0..<channels).map { c in
                        inputTransform((0..<4).map { a in (0..<4).map { b in
                            let row = 2 * ty - pad + a, column = 2 * tx - pad + b
                            let inside = row >= 0 && row < height && column >= 0 && column < width
                            return inside ? x[((n * height + row) * width + column) * channels + c] : 0
                        } })
                    })
                    w.append((0..<filters).map { k in
                        let d = (0..<2).map { i in (0..<2).map { j in
                            let oy = 2 * ty + i, ox = 2 * tx + j
                            return oy < outHeight && ox < outWidth ? dy[((n * outHeight + oy) * outWidth + ox) * filters + k] : 0
                        } }
                        let r = (0..<2).map { i in a(d[i][0], d[i][1]) }
                        return (0..<4).flatMap { p in (0..<4).map { q in a(r[0][q], r[1][q])[p] } }
                    })
                }
            }
            for c in 0..<channels {
                for k in 0..<filters {
                    let du = (0..<16).map { e in
                        stride(from: 0, to: v.count, by: tileBlock).reduce(Float(0)) { total, start in
                            let sum = (start..<min(start + tileBlock, v.count)).reduce(Float(0)) { $0.addingProduct(v[$1][c][e], w[$1][k][e]) }
                            return start == 0 ? sum : total + sum
                        }
                    }
                    let s = (0..<4).map { q in gt(du[q], du[4 + q], du[8 + q], du[12 + q]) }
                    for a in 0..<3 {
                        for (b, value) in gt(s[0][a], s[1][a], s[2][a], s[3][a]).enumerated() {
                            dKernel[((a * 3 + b) * channels + c) * filters + k] += Double(value)
                        }
                    }
                }
            }
        }
    }
}
