/// Keras's `padding` argument of convolution and pooling layers.
public enum Padding: String, Sendable, CaseIterable {
    /// No padding: windows lie wholly inside the input; trailing rows/columns that do not fill one are dropped.
    case valid
    /// `out = ceil(in / stride)`, with the `pad_total = max((out - 1) * stride + window - in, 0)` padding
    /// split as TensorFlow does: `pad_total / 2` before, the rest (one more for odd totals) after.
    case same
}

/// Where the sliding windows of a convolution or pooling layer fall on an NHWC image: input size,
/// window, strides, padding, and the output size they give.
public struct WindowGeometry: Equatable, Sendable {
    public let height: Int, width: Int, channels: Int
    public let windowHeight: Int, windowWidth: Int
    public let strideHeight: Int, strideWidth: Int
    /// Rows of padding above the image and columns left of it (the rest of `pad_total` goes below / right).
    public let padTop: Int, padLeft: Int
    public let outHeight: Int, outWidth: Int

    /// Throws when the window does not fit (valid padding with a window larger than the input).
    public init(input: TensorShape, window: (Int, Int), strides: (Int, Int), padding: Padding) throws {
        try input.requireImage("a window layer")
        (height, width, channels) = (input.dimensions[0], input.dimensions[1], input.dimensions[2])
        (windowHeight, windowWidth) = window
        (strideHeight, strideWidth) = strides
        func along(_ size: Int, _ window: Int, _ stride: Int) -> (out: Int, before: Int) {
            switch padding {
            case .valid: return (size >= window ? (size - window) / stride + 1 : 0, 0)
            case .same:
                let out = (size + stride - 1) / stride
                return (out, max((out - 1) * stride + window - size, 0) / 2)
            }
        }
        (outHeight, padTop) = along(height, windowHeight, strideHeight)
        (outWidth, padLeft) = along(width, windowWidth, strideWidth)
        guard outHeight > 0, outWidth > 0 else {
            throw DescriptionError("window \(windowHeight)x\(windowWidth) is larger than its input \(input) with valid padding")
        }
    }

    /// True for the common case that needs no bounds checks: stride 1 and no padding.
    public var isDense: Bool { strideHeight == 1 && strideWidth == 1 && padTop == 0 && padLeft == 0 }
    /// Stride 1 and no padding on any side: every window lies inside the input (not "same" with an
    /// even window, which pads only below and right). im2col then needs no bounds checks.
    public var hasNoPadding: Bool {
        isDense && outHeight == height - windowHeight + 1 && outWidth == width - windowWidth + 1
    }
    /// Square windows that tile the input without overlap and lie wholly inside it (e.g. a 2x2 pool with stride 2).
    public var isTiling: Bool {
        windowHeight == windowWidth && strideHeight == windowHeight && strideWidth == windowWidth
            && padTop == 0 && padLeft == 0 && outHeight * windowHeight <= height && outWidth * windowWidth <= width
    }
    public var inputCount: Int { height * width * channels }
    public var positions: Int { outHeight * outWidth }
    /// Length of one im2col row: one window over every channel.
    public var patchLength: Int { windowHeight * windowWidth * channels }

    /// Input row and column of window `(oy, ox)`'s top-left element (may be negative under padding).
    @inline(__always) public func origin(_ oy: Int, _ ox: Int) -> (Int, Int) {
        (oy * strideHeight - padTop, ox * strideWidth - padLeft)
    }
}
