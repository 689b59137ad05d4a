/// A decoded picture: `height x width x channels` bytes, row-major, channels interleaved (1 = grey,
/// 3 = RGB), exactly the NHWC layout of one sample.
public struct Picture: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public let channels: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition(channels == 1 || channels == 3, "a picture is grey or RGB")
        precondition(pixels.count == width * height * channels)
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    public init(_ grey: GreyImage) {
        self.init(width: grey.width, height: grey.height, channels: 1, pixels: grey.pixels)
    }

    /// The picture as a grey image (a grey picture's pixels as they are).
    public var grey: GreyImage {
        precondition(channels == 1, "convert RGB to grey when decoding")
        return GreyImage(width: width, height: height, pixels: pixels)
    }
}

/// Size limits for decoding untrusted files: a header may claim any size, so it is checked before
/// anything is allocated. 2^26 pixels (a 67-megapixel photo) is beyond what a convnet's input needs;
/// at that size one decoding thread holds up to about 600 MB (200 MB of RGB output, and for a
/// progressive JPEG libjpeg's buffer of coefficients, about 6 bytes a pixel).
public enum PictureLimits {
    public static let maximumSide = 1 << 15
    public static let maximumPixels = 1 << 26

    static func check(width: Int, height: Int, format: String, name: String) throws {
        guard width > 0, height > 0, width <= maximumSide, height <= maximumSide, width * height <= maximumPixels else {
            throw ImageError("\(name): the \(format) header claims \(width)x\(height) pixels; at most \(maximumSide) per side and \(maximumPixels) pixels are decoded")
        }
    }
}
