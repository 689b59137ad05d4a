/// Naive, obviously-correct kernels kept beside the fast ones; tests compare the two.
/// Loops follow the definitions literally and accumulate in Double.
public enum ReferenceKernels {
    /// `c[m, n] = a[m, k] * b[k, n]`, all row-major.
    public static func matmul(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k { sum += Double(a[i * k + p]) * Double(b[p * n + j]) }
                c[i * n + j] = Float(sum)
            }
        }
        return c
    }

    /// Valid, stride-1 convolution without activation:
    /// `y[n, oy, ox, o] = bias[o] + sum_{ky, kx, c} x[n, oy + ky, ox + kx, c] * w[ky, kx, c, o]`.
    public static func conv2d(x: [Float], batch: Int, height: Int, width: Int, channels: Int,
                              kernel w: [Float], bias: [Float], kernelHeight: Int, kernelWidth: Int,
                              filters: Int) -> [Float] {
        let oh = height - kernelHeight + 1, ow = width - kernelWidth + 1
        var y = [Float](repeating: 0, count: batch * oh * ow * filters)
        for n in 0..<batch { for oy in 0..<oh { for ox in 0..<ow { for o in 0..<filters {
            var sum = Double(bias[o])
            for ky in 0..<kernelHeight { for kx in 0..<kernelWidth { for c in 0..<channels {
                let xv = x[((n * height + oy + ky) * width + ox + kx) * channels + c]
                let wv = w[((ky * kernelWidth + kx) * channels + c) * filters + o]
                sum += Double(xv) * Double(wv)
            } } }
            y[((n * oh + oy) * ow + ox) * filters + o] = Float(sum)
        } } } }
        return y
    }

    /// Gradients of `conv2d` given `dy` (same shape as its output): returns `(dx, dKernel, dBias)`.
    public static func conv2dBackward(x: [Float], dy: [Float], batch: Int, height: Int, width: Int,
                                      channels: Int, kernel w: [Float], kernelHeight: Int,
                                      kernelWidth: Int, filters: Int) -> (dx: [Float], dKernel: [Float], dBias: [Float]) {
        let oh = height - kernelHeight + 1, ow = width - kernelWidth + 1
        var dx = [Double](repeating: 0, count: x.count)
        var dw = [Double](repeating: 0, count: w.count)
        var db = [Double](repeating: 0, count: filters)
        for n in 0..<batch { for oy in 0..<oh { for ox in 0..<ow { for o in 0..<filters {
            let g = Double(dy[((n * oh + oy) * ow + ox) * filters + o])
            db[o] += g
            for ky in 0..<kernelHeight { for kx in 0..<kernelWidth { for c in 0..<channels {
                let xi = ((n * height + oy + ky) * width + ox + kx) * channels + c
                let wi = ((ky * kernelWidth + kx) * channels + c) * filters + o
                dx[xi] += g * Double(w[wi])
                dw[wi] += g * Double(x[xi])
            } } }
        } } } }
        return (dx.map(Float.init), dw.map(Float.init), db.map(Float.init))
    }

    /// Max pooling over `pool x pool` windows that tile the input (stride `pool`, no padding), NHWC,
    /// and its backward pass: each `dy` shared equally (`dy / ties`, in Float) by the window's inputs
    /// equal to the maximum; the others get 0. Returns `(y, dx)`.
    public static func maxPoolTiles(x: [Float], dy: [Float], batch: Int, height: Int, width: Int, channels: Int,
                                    pool: Int) -> (y: [Float], dx: [Float]) {
        let oh = height / pool, ow = width / pool
        var y = [Float](repeating: 0, count: batch * oh * ow * channels)
        var dx = [Float](repeating: 0, count: x.count)
        for n in 0..<batch { for oy in 0..<oh { for ox in 0..<ow { for c in 0..<channels {
            let cells = (0..<pool).flatMap { a in (0..<pool).map { b in
                ((n * height + oy * pool + a) * width + ox * pool + b) * channels + c
            } }
            let out = ((n * oh + oy) * ow + ox) * channels + c
            let maximum = cells.map { x[$0] }.max()!
            y[out] = maximum
            let winners = cells.filter { x[$0] == maximum }
            for cell in winners { dx[cell] = dy[out] / Float(winners.count) }
        } } } }
        return (y, dx)
    }
    /// Batch normalisation in training over `x[batch, positions, channels]`, one thread's whole batch,
    /// as scalar loops in `BatchNorm`'s order: per sample, Float sums over positions added in Double;
    /// the moments from them; `y`; then with `dy`, the backward statistics, `dgamma`, `dbeta` and `dx`.
    /// Not Double like the others: the vectorised passes must give these bits exactly.
    public static func batchNormTraining(x: [Float], dy: [Float], batch: Int, positions: Int, channels c: Int,
                                         gamma: [Float], beta: [Float], epsilon: Float)
        -> (y: [Float], dx: [Float], dGamma: [Double], dBeta: [Double]) {
        func sums(_ value: (Int, Int) -> (Float, Float)) -> ([Double], [Double]) {
            var first = [Double](repeating: 0, count: c), second = first
            for n in 0..<batch {
                var a = [Float](repeating: 0, count: c), b = a
                for p in 0..<positions {
                    for k in 0..<c {
                        let (u, v) = value((n * positions + p) * c + k, k)
                        a[k] += u
                        b[k] += v
                    }
                }
                for k in 0..<c { first[k] += Double(a[k]); second[k] += Double(b[k]) }
            }
            return (first, second)
        }
        let count = Double(batch * positions)
        let (sumX, sumXX) = sums { i, _ in (x[i], x[i] * x[i]) }
        var mean = [Float](repeating: 0, count: c), inverse = mean
        for k in 0..<c {
            let m = sumX[k] / count
            mean[k] = Float(m)
            inverse[k] = 1 / (Float(max(sumXX[k] / count - m * m, 0)) + epsilon).squareRoot()
        }
        var y = [Float](repeating: 0, count: x.count), dx = y
        for i in 0..<x.count {
            let k = i % c, scale = inverse[k] * gamma[k]
            y[i] = x[i] * scale + (beta[k] - mean[k] * scale)
        }
        let (sumDy, sumDyXhat) = sums { i, k in (dy[i], dy[i] * (x[i] - mean[k]) * inverse[k]) }
        for i in 0..<x.count {
            let k = i % c, xhat = (x[i] - mean[k]) * inverse[k]
            dx[i] = gamma[k] * inverse[k] * (dy[i] - Float(sumDy[k]) / Float(count) - xhat * (Float(sumDyXhat[k]) / Float(count)))
        }
        return (y, dx, sumDyXhat, sumDy)
    }
}
