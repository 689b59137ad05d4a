import CKernels
import Foundation

/// Convolution without padding, any stride, computed without im2col's matrix (CKernels' `ck_conv_*`),
/// giving the im2col route's bits: the same fused multiply-add chains over `(ky, kx, c)` for outputs
/// and over positions for kernel gradients, and the input gradient's sums added to each pixel in the
/// order `col2im` adds them. What it saves is writing and re-reading that matrix (`kh * kw` times the
/// input; the gain is in docs/performance-history.md). A convolution with padding runs as one without
/// on a zero-padded copy of the input (`pad`): the zeros are those im2col writes, in the same places
/// of the same chains, and the padded input gradient's border (`crop`) holds only the sums `col2im`
/// drops, so the bits are still the im2col route's. The copy is made one sample at a time, just before
/// the kernel reads it (a sample's sums do not depend on the others, and the kernel gradient adds
/// the samples in order either way), so that it is read back from cache.
///
/// Shapes as `Conv2D`: `x[n, h, w, c]`, `kernel[kh, kw, c, filters]` (HWIO), `y[n, oh, ow, filters]`.
public enum DirectConvolution {
    /// Where the kernels' register blocks fill up: output rows of 8+ positions (a block is a run of one
    /// output row) and kernel rows of 32+ floats (a weight-gradient block is a run of one kernel row),
    /// or, for strided windows, where im2col's matrix costs more than short blocks: kernel rows of 16+
    /// floats of whole 8-channel vectors (the input gradient's columns are channels; a narrower tail
    /// runs on portable code without AVX-512's masks). Without an input gradient (`inputGradient`
    /// false: a model's first layer), kernel rows of 8+ floats still beat im2col's copy in the forward
    /// pass and the kernel gradient: a 3x3 stem on a picture's 3 channels runs direct. The reference
    /// model's conv2 qualifies; its conv1 (kernel rows of 3 floats, where im2col's longer rows win) and
    /// conv3 (output rows of 3 positions) keep im2col.
    public static func suits(_ g: WindowGeometry, inputGradient: Bool = true) -> Bool {
        guard !im2colForced, let p = padded(g), p.outWidth >= 8 else { return false }
        let span = p.windowWidth * p.channels, strided = g.strideHeight > 1 || g.strideWidth > 1
        return span >= 32 || (strided && span >= 16 && p.channels % 8 == 0) || (!inputGradient && span >= 8)
    }

    /// `CONVNET_IM2COL=1` in the environment keeps every convolution on the im2col route: the same
    /// bits, slower; tests train with it to compare the routes' bytes.
    private static let im2colForced = ProcessInfo.processInfo.environment["CONVNET_IM2COL"] == "1"

    /// Whether `g` reads a zero-padded copy of its input (`pad`): some window reaches past the input.
    public static func needsCopy(_ g: WindowGeometry) -> Bool {
        g.padTop > 0 || g.padLeft > 0 || (g.outHeight - 1) * g.strideHeight + g.windowHeight > g.height
            || (g.outWidth - 1) * g.strideWidth + g.windowWidth > g.width
    }

    /// `g` as a convolution without padding on its input padded with zeros (`g` itself when no window
    /// reaches past the input): `padTop` rows above, `padLeft` columns left, and below and right as
    /// many as the last window needs; rows and columns past it stay (no window reads them).
    public static func padded(_ g: WindowGeometry) -> WindowGeometry? {
        if !needsCopy(g) { return g }
        let (bottom, right) = after(g)
        let shape = TensorShape([g.padTop + g.height + Int(bottom), g.padLeft + g.width + Int(right), g.channels])
        guard let p = try? WindowGeometry(input: shape, window: (g.windowHeight, g.windowWidth),
                                          strides: (g.strideHeight, g.strideWidth), padding: .valid),
              p.outHeight == g.outHeight, p.outWidth == g.outWidth else { return nil }
        return p
    }

    /// Floats of the padded copy of `batch` inputs (0 without padding).
    public static func paddedCount(_ g: WindowGeometry, batch: Int) -> Int {
        needsCopy(g) ? batch * (padded(g)?.inputCount ?? 0) : 0
    }

    /// `x` (`g`'s input) copied into `padded(g)`'s input, zeros around.
    public static func pad(_ x: UnsafePointer<Float>, batch: Int, geometry g: WindowGeometry, _ out: UnsafeMutablePointer<Float>) {
        let (bottom, right) = after(g)
        ck_pad_images(x, Int32(batch), Int32(g.height), Int32(g.width), Int32(g.channels), Int32(g.padTop), bottom,
                      Int32(g.padLeft), right, out)
    }

    /// `pad`'s inverse: `g`'s input from `padded(g)`'s, the border dropped.
    public static func crop(_ padded: UnsafePointer<Float>, batch: Int, geometry g: WindowGeometry, _ x: UnsafeMutablePointer<Float>) {
        let (bottom, right) = after(g)
        ck_crop_images(padded, Int32(batch), Int32(g.height), Int32(g.width), Int32(g.channels), Int32(g.padTop), bottom,
                       Int32(g.padLeft), right, x)
    }

    /// Rows of padding below and columns right of a window's input (0 where the last window ends inside).
    private static func after(_ g: WindowGeometry) -> (Int32, Int32) {
        (Int32(max(0, (g.outHeight - 1) * g.strideHeight + g.windowHeight - g.height - g.padTop)),
         Int32(max(0, (g.outWidth - 1) * g.strideWidth + g.windowWidth - g.width - g.padLeft)))
    }

    private static func shape(_ g: WindowGeometry, batch: Int, filters: Int) -> ck_conv {
        ck_conv(batch: Int32(batch), height: Int32(g.height), width: Int32(g.width), channels: Int32(g.channels),
                window_height: Int32(g.windowHeight), window_width: Int32(g.windowWidth), filters: Int32(filters),
                stride_height: Int32(g.strideHeight), stride_width: Int32(g.strideWidth))
    }

    /// Floats of scratch `forward` and `addKernelGradients` need: one sample's padded copy (0 without padding).
    public static func scratchCount(_ g: WindowGeometry) -> Int { paddedCount(g, batch: 1) }

    /// `y = act(bias + conv(x, kernel))` over `g` (padded or not), `act` ReLU when `relu`; `bias` may be nil.
    /// With padding, each sample runs on its padded copy in `scratch` (`scratchCount` floats, required), made just
    /// before the kernel reads it, so that it is read back from cache; a sample's outputs depend on it alone.
    public static func forward(_ x: UnsafePointer<Float>, batch: Int, geometry g: WindowGeometry,
                               kernel: UnsafePointer<Float>, filters: Int, bias: UnsafePointer<Float>?, relu: Bool,
                               _ y: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>? = nil) {
        forEachPaddedSample(x, batch: batch, geometry: g, filters: filters, scratch: scratch) { v, input, first in
            ck_conv_forward(&v, input, kernel, bias, relu ? 1 : 0, y + first * g.positions * filters)
        }
    }

    /// `dKernel += Double(col_n^T * dy_n)` for each sample `n` in order (`dKernel` as `[kh * kw * c, filters]`),
    /// over `g` (padded or not), each sample on its padded copy in `scratch` as in `forward`.
    public static func addKernelGradients(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, batch: Int,
                                          geometry g: WindowGeometry, filters: Int, into dKernel: UnsafeMutablePointer<Double>,
                                          scratch: UnsafeMutablePointer<Float>? = nil) {
        forEachPaddedSample(x, batch: batch, geometry: g, filters: filters, scratch: scratch) { v, input, first in
            ck_conv_weight_gradient(&v, input, dy + first * g.positions * filters, dKernel)
        }
    }

    /// Runs `kernel(shape, input, first)` on the whole batch of `x` (first 0) when `g` needs no
    /// padding, else once per sample `first`, in order, on its padded copy in `scratch`.
    private static func forEachPaddedSample(_ x: UnsafePointer<Float>, batch: Int, geometry g: WindowGeometry, filters: Int,
                                            scratch: UnsafeMutablePointer<Float>?,
                                            _ kernel: (inout ck_conv, UnsafePointer<Float>, Int) -> Void) {
        guard needsCopy(g) else {
            var v = shape(g, batch: batch, filters: filters)
            return kernel(&v, x, 0)
        }
        guard let scratch else { preconditionFailure("a padded direct convolution needs scratchCount(g) floats of scratch") }
        var v = shape(padded(g)!, batch: 1, filters: filters)
        for n in 0..<batch {
            pad(x + n * g.inputCount, batch: 1, geometry: g, scratch)
            kernel(&v, scratch, n)
        }
    }

    /// `dx = col2im(dy * K^T)`, overwritten; `kernelTransposed` is `[filters, kh * kw * c]`.
    public static func inputGradient(dy: UnsafePointer<Float>, kernelTransposed: UnsafePointer<Float>, batch: Int,
                                     geometry g: WindowGeometry, filters: Int, _ dx: UnsafeMutablePointer<Float>) {
        var v = shape(g, batch: batch, filters: filters)
        ck_conv_input_gradient(&v, dy, kernelTransposed, dx)
    }

    /// The gradient of `g`'s (possibly padded) input: `crop` of `inputGradient` on `padded(g)`, the same
    /// bits, with the border never computed (gathered per pixel; without padding, `inputGradient`).
    public static func paddedInputGradient(dy: UnsafePointer<Float>, kernelTransposed: UnsafePointer<Float>, batch: Int,
                                           geometry g: WindowGeometry, filters: Int, _ dx: UnsafeMutablePointer<Float>) {
        if !needsCopy(g) { return inputGradient(dy: dy, kernelTransposed: kernelTransposed, batch: batch, geometry: g, filters: filters, dx) }
        var v = shape(padded(g)!, batch: batch, filters: filters)
        if g.strideHeight > 1 || g.strideWidth > 1 {
            return ck_conv_input_gradient_strided(&v, dy, kernelTransposed, Int32(g.padTop), Int32(g.padLeft), Int32(g.height),
                                                  Int32(g.width), dx)
        }
        ck_conv_input_gradient_window(&v, dy, kernelTransposed, Int32(g.padTop), Int32(g.padLeft), Int32(g.height),
                                      Int32(g.width), dx)
    }
}
