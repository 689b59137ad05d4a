import CKernels

/// How a `Conv2D` computes its sums (`convolution` key): `direct` (im2col or `DirectConvolution`, the
/// default) or `winograd`, Winograd F(2x2, 3x3) for 3x3 kernels with stride 1 ("same" or "valid").
public enum ConvolutionAlgorithm: String, Sendable, CaseIterable {
    case direct, winograd

    /// Whether `winograd` can compute a convolution of this kernel size and stride.
    public static func winogradSuits(kernelSize: (Int, Int), strides: (Int, Int)) -> Bool {
        kernelSize == (3, 3) && strides == (1, 1)
    }
}

/// Winograd F(2x2, 3x3) convolution (CKernels' `ck_winograd_*`): each 2x2 block of outputs is
///
///     Y = A^T [ (G g G^T) . (B^T d B) ] A
///
/// over the 4x4 input tile `d` under it, summed over input channels; per tile element the sum over
/// channels is a `[tiles, c] x [c, filters]` product (`winograd_body.h`: each element one chain of
/// fused multiply-adds from 0 in channel order, as the row-wise kernel's). 16 multiplies per 4
/// outputs instead of 36: 2.25x fewer. The bits differ from the direct sums (other roundings; the
/// error is measured in the tests and stated in configs/README.md), but a sample's outputs depend only
/// on that sample and the kernel, on every kernel path and for any batch split.
///
/// The input gradient is the same convolution of `dy` with the kernel rotated 180 degrees and its
/// channels and filters swapped (`pad' = 2 - pad`). The kernel gradient is the transposed algorithm:
/// per sample, `dg = G^T [ sum over tiles of (B^T d B) . (A dY A^T) ] G`, the sum over tiles again 16
/// products (`[c, tiles] x [tiles, filters]`) in Float, then added in Double in sample order.
///
/// Shapes as `Conv2D`: `x[n, h, w, c]`, `kernel[3, 3, c, filters]` (HWIO), `y[n, oh, ow, filters]`.
public enum WinogradConvolution {
    /// Floats `prepare` writes: the input gradient's kernel transform `U'[16][filters, c]`. (The
    /// forward pass transforms its kernel itself: the runner prepares parameters for backward passes
    /// only, so inference and a training step's first forward pass may not read prepared floats.)
    public static func preparedCount(channels: Int, filters: Int) -> Int { 16 * channels * filters }

    public static func prepare(kernel: UnsafePointer<Float>, channels: Int, filters: Int,
                               into prepared: UnsafeMutablePointer<Float>) {
        ck_winograd_kernel(kernel, Int32(channels), Int32(filters), 1, prepared)
    }

    /// Scratch floats (any batch): the forward kernel's transform and the tile blocks, or the kernel
    /// gradient's tile blocks and per-sample sums.
    public static func scratchCount(geometry g: WindowGeometry, filters: Int, batch: Int) -> Int {
        let c = Int32(g.channels), k = Int32(filters)
        return max(16 * g.channels * filters + Int(ck_winograd_scratch(c, k)), Int(ck_winograd_kernel_gradient_scratch(c, k)))
    }

    /// `y = act(bias + conv(x, kernel))`, `act` ReLU when `relu`; `bias` may be nil.
    public static func forward(_ x: UnsafePointer<Float>, batch: Int, geometry g: WindowGeometry, kernel: UnsafePointer<Float>,
                               filters: Int, bias: UnsafePointer<Float>?, relu: Bool, _ y: UnsafeMutablePointer<Float>,
                               scratch: UnsafeMutablePointer<Float>) {
        var v = ck_winograd(batch: Int32(batch), height: Int32(g.height), width: Int32(g.width), channels: Int32(g.channels),
                            pad: Int32(g.padTop), out_height: Int32(g.outHeight), out_width: Int32(g.outWidth),
                            filters: Int32(filters))
        ck_winograd_kernel(kernel, Int32(g.channels), Int32(filters), 0, scratch)
        ck_winograd_conv(&v, x, scratch, bias, relu ? 1 : 0, y, scratch + 16 * g.channels * filters)
    }

    /// `dx` (overwritten) from `dy`: the convolution of `dy` with the flipped kernel (`prepared`).
    public static func inputGradient(dy: UnsafePointer<Float>, batch: Int, geometry g: WindowGeometry, prepared: UnsafePointer<Float>,
                                     filters: Int, _ dx: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        var v = ck_winograd(batch: Int32(batch), height: Int32(g.outHeight), width: Int32(g.outWidth), channels: Int32(filters),
                            pad: Int32(2 - g.padTop), out_height: Int32(g.height), out_width: Int32(g.width),
                            filters: Int32(g.channels))
        ck_winograd_conv(&v, dy, prepared, nil, 0, dx, scratch)
    }

    /// Tiles the kernel gradient sums at a time (its sums over a sample's `tiles` tiles go block by block).
    public static func gradientTileBlock(channels: Int, filters: Int, tiles: Int) -> Int {
        Int(ck_winograd_gradient_tile_block(Int32(channels), Int32(filters), tiles))
    }

    /// `dKernel += Double(dg_n)` for each sample `n` in order, `dg_n` its kernel gradient by Winograd.
    public static func addKernelGradients(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, batch: Int, geometry g: WindowGeometry,
                                          filters: Int, into dKernel: UnsafeMutablePointer<Double>,
                                          scratch: UnsafeMutablePointer<Float>) {
        var v = ck_winograd(batch: Int32(batch), height: Int32(g.height), width: Int32(g.width), channels: Int32(g.channels),
                            pad: Int32(g.padTop), out_height: Int32(g.outHeight), out_width: Int32(g.outWidth),
                            filters: Int32(filters))
        ck_winograd_kernel_gradient(&v, x, dy, dKernel, scratch)
    }
}
