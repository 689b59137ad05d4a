import CKernels

/// Patch extraction for valid, stride-1 convolution over NHWC tensors.
///
/// `im2col` turns `x[n, h, w, c]` into `col[n * oh * ow, kh * kw * c]`, each row one output
/// position's receptive field in `(ky, kx, c)` order, the same order as a Keras HWIO kernel flattened
/// to `[kh * kw * c, filters]`. Convolution is then one GEMM whose result is already NHWC.
/// `col2im` is its adjoint: it scatter-adds rows back into `x`, giving the input gradient.
public enum Im2Col {
    public static func im2col(_ x: UnsafePointer<Float>, batch: Int, height: Int, width: Int, channels: Int,
                              kernelHeight: Int, kernelWidth: Int, _ col: UnsafeMutablePointer<Float>) {
        let outHeight = height - kernelHeight + 1, outWidth = width - kernelWidth + 1
        let rowLength = kernelHeight * kernelWidth * channels
        let span = kernelWidth * channels   // one kernel row of a patch is contiguous in NHWC
        var destination = col
        for n in 0..<batch {
            let image = x + n * height * width * channels
            for oy in 0..<outHeight {
                for ox in 0..<outWidth {
                    var row = destination
                    for ky in 0..<kernelHeight {
                        let source = image + ((oy + ky) * width + ox) * channels
                        // A call to memmove per span costs more than the copy when spans are short (conv1: 3 floats).
                        if span < 16 {
                            for i in 0..<span { row[i] = source[i] }
                        } else {
                            row.update(from: source, count: span)
                        }
                        row += span
                    }
                    destination += rowLength
                }
            }
        }
    }

    /// Adds each row of `col` back into the positions it was read from. `x` is overwritten, not accumulated.
    public static func col2im(_ col: UnsafePointer<Float>, batch: Int, height: Int, width: Int, channels: Int,
                              kernelHeight: Int, kernelWidth: Int, _ x: UnsafeMutablePointer<Float>) {
        let outHeight = height - kernelHeight + 1, outWidth = width - kernelWidth + 1
        let rowLength = kernelHeight * kernelWidth * channels
        let span = kernelWidth * channels
        x.update(repeating: 0, count: batch * height * width * channels)
        var source = col
        for n in 0..<batch {
            let image = x + n * height * width * channels
            for oy in 0..<outHeight {
                for ox in 0..<outWidth {
                    var row = source
                    for ky in 0..<kernelHeight {
                        ck_add(image + ((oy + ky) * width + ox) * channels, row, span)
                        row += span
                    }
                    source += rowLength
                }
            }
        }
    }
}
