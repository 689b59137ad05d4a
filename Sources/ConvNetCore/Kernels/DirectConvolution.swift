import CKernels

/// Convolution with stride 1 and no padding computed without im2col's matrix (CKernels' `ck_conv_*`),
/// giving the im2col route's bits: the same fused multiply-add chains over `(ky, kx, c)` for outputs
/// and over positions for kernel gradients, and the input gradient's sums added to each pixel in the
/// order `col2im` adds them. What it saves is writing and re-reading that matrix (`kh * kw` times the
/// input; the gain is in docs/performance-history.md).
///
/// Shapes as `Conv2D`: `x[n, h, w, c]`, `kernel[kh, kw, c, filters]` (HWIO), `y[n, oh, ow, filters]`.
public enum DirectConvolution {
    /// Where the kernels' register blocks fill up: output rows of 8+ positions (a block is a run of one
    /// output row) and kernel rows of 32+ floats (a weight-gradient block is a run of one kernel row).
    /// The reference model's conv2 qualifies; conv1 (kernel rows of 3 floats) and conv3 (output rows
    /// of 3 positions) keep im2col.
    public static func suits(_ g: WindowGeometry) -> Bool {
        g.hasNoPadding && g.outWidth >= 8 && g.windowWidth * g.channels >= 32
    }

    private static func shape(_ g: WindowGeometry, batch: Int, filters: Int) -> ck_conv {
        ck_conv(batch: Int32(batch), height: Int32(g.height), width: Int32(g.width), channels: Int32(g.channels),
                window_height: Int32(g.windowHeight), window_width: Int32(g.windowWidth), filters: Int32(filters))
    }

    /// `y = act(bias + conv(x, kernel))`, `act` ReLU when `relu`; `bias` may be nil.
    public static func forward(_ x: UnsafePointer<Float>, batch: Int, geometry g: WindowGeometry,
                               kernel: UnsafePointer<Float>, filters: Int, bias: UnsafePointer<Float>?, relu: Bool,
                               _ y: UnsafeMutablePointer<Float>) {
        var v = shape(g, batch: batch, filters: filters)
        ck_conv_forward(&v, x, kernel, bias, relu ? 1 : 0, y)
    }

    /// `dKernel += Double(col_n^T * dy_n)` for each sample `n` in order (`dKernel` as `[kh * kw * c, filters]`).
    public static func addKernelGradients(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, batch: Int,
                                          geometry g: WindowGeometry, filters: Int, into dKernel: UnsafeMutablePointer<Double>) {
        var v = shape(g, batch: batch, filters: filters)
        ck_conv_weight_gradient(&v, x, dy, dKernel)
    }

    /// `dx = col2im(dy * K^T)`, overwritten; `kernelTransposed` is `[filters, kh * kw * c]`.
    public static func inputGradient(dy: UnsafePointer<Float>, kernelTransposed: UnsafePointer<Float>, batch: Int,
                                     geometry g: WindowGeometry, filters: Int, _ dx: UnsafeMutablePointer<Float>) {
        var v = shape(g, batch: batch, filters: filters)
        ck_conv_input_gradient(&v, dy, kernelTransposed, dx)
    }
}
