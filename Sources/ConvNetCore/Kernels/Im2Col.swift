import CKernels

/// Patch extraction for convolution over NHWC tensors.
///
/// `im2col` turns `x[n, h, w, c]` into `col[n * oh * ow, kh * kw * c]`, each row one output
/// position's receptive field in `(ky, kx, c)` order, the same order as a Keras HWIO kernel flattened
/// to `[kh * kw * c, filters]`; positions that fall in the padding read 0. Convolution is then one
/// matrix product whose result is already NHWC. `col2im` is its adjoint: it scatter-adds rows back
/// into `x` (dropping the padding), giving the input gradient.
public enum Im2Col {
    /// With `onesColumn`, each row of `col` has one more element, a 1: the weight-gradient product
    /// `col^T * dY` then also yields the bias gradient, each filter's sum of `dY` over the positions.
    public static func im2col(_ x: UnsafePointer<Float>, batch: Int, geometry g: WindowGeometry,
                              onesColumn: Bool = false, _ col: UnsafeMutablePointer<Float>) {
        if g.hasNoPadding {   // the reference model's convolutions: a tight C loop, no bounds to check
            ck_im2col_dense(x, Int32(batch), Int32(g.height), Int32(g.width), Int32(g.channels),
                            Int32(g.windowHeight), Int32(g.windowWidth), onesColumn ? 1 : 0, col)
            return
        }
        let span = g.windowWidth * g.channels   // one kernel row of a patch is contiguous in NHWC
        var destination = col
        for n in 0..<batch {
            let image = x + n * g.inputCount
            for oy in 0..<g.outHeight {
                for ox in 0..<g.outWidth {
                    let (top, left) = g.origin(oy, ox)
                    let inside = left >= 0 && left + g.windowWidth <= g.width
                    for ky in 0..<g.windowHeight {
                        let row = destination + ky * span, iy = top + ky
                        if iy < 0 || iy >= g.height {
                            row.update(repeating: 0, count: span)
                        } else if inside {
                            copy(image + (iy * g.width + left) * g.channels, to: row, count: span)
                        } else {
                            for kx in 0..<g.windowWidth {
                                let ix = left + kx, target = row + kx * g.channels
                                if ix < 0 || ix >= g.width {
                                    target.update(repeating: 0, count: g.channels)
                                } else {
                                    copy(image + (iy * g.width + ix) * g.channels, to: target, count: g.channels)
                                }
                            }
                        }
                    }
                    destination += g.patchLength
                    if onesColumn {
                        destination.pointee = 1
                        destination += 1
                    }
                }
            }
        }
    }

    /// Adds each row of `col` back into the positions it was read from. `x` is overwritten, not accumulated.
    public static func col2im(_ col: UnsafePointer<Float>, batch: Int, geometry g: WindowGeometry,
                              _ x: UnsafeMutablePointer<Float>) {
        let span = g.windowWidth * g.channels
        x.update(repeating: 0, count: batch * g.inputCount)
        var source = col
        for n in 0..<batch {
            let image = x + n * g.inputCount
            for oy in 0..<g.outHeight {
                for ox in 0..<g.outWidth {
                    let (top, left) = g.origin(oy, ox)
                    let inside = left >= 0 && left + g.windowWidth <= g.width
                    for ky in 0..<g.windowHeight {
                        let row = source + ky * span, iy = top + ky
                        if iy < 0 || iy >= g.height { continue }
                        if inside {
                            ck_add(image + (iy * g.width + left) * g.channels, row, span)
                        } else {
                            for kx in 0..<g.windowWidth where left + kx >= 0 && left + kx < g.width {
                                ck_add(image + (iy * g.width + left + kx) * g.channels, row + kx * g.channels, g.channels)
                            }
                        }
                    }
                    source += g.patchLength
                }
            }
        }
    }

    /// A call to memmove per span costs more than the copy when spans are short (conv1: 3 floats).
    @inline(__always)
    private static func copy(_ source: UnsafePointer<Float>, to target: UnsafeMutablePointer<Float>, count: Int) {
        if count < 16 {
            for i in 0..<count { target[i] = source[i] }
        } else {
            target.update(from: source, count: count)
        }
    }
}
