import CPNG
import Foundation

/// PNG through libpng's simplified API (`png_image`): every colour type, bit depth and interlacing
/// libpng reads, expanded by libpng to 8-bit RGBA (16-bit samples scaled as sRGB values, / 257, not
/// as linear light). The rest is plain byte arithmetic, the same as for JPEG: alpha is composited
/// on white (a digit drawn on a transparent canvas reads as ink on paper; opaque pixels keep their
/// bytes), and grey is libjpeg's integer `0.299 R + 0.587 G + 0.114 B`, so a grey PNG keeps its
/// bytes exactly. (libpng's own grey conversion works in linear light: pure red would become 126,
/// not the 76 that TensorFlow and libjpeg give.) libpng reports errors through the `png_image`
/// (no longjmp reaches Swift); the header's size is checked before the pixels are allocated.
public enum PNG {
    static let signature: [UInt8] = [137, 80, 78, 71, 13, 10, 26, 10]

    public static func isPNG(_ data: Data) -> Bool { data.starts(with: signature) }

    /// The picture in `data` with `channels` channels (1 grey, 3 RGB).
    public static func decode(_ data: Data, name: String, channels: Int) throws -> Picture {
        guard isPNG(data) else { throw ImageError("\(name): not a PNG file") }
        var image = png_image()
        image.version = png_uint_32(convnet_png_image_version())
        defer { png_image_free(&image) }
        let begun = data.withUnsafeBytes { png_image_begin_read_from_memory(&image, $0.baseAddress, $0.count) }
        guard begun != 0 else { throw ImageError("\(name): corrupt PNG (\(message(image)))") }
        let width = Int(image.width), height = Int(image.height)
        try PictureLimits.check(width: width, height: height, format: "PNG", name: name)
        image.format = convnet_png_format_rgba()
        image.flags |= png_uint_32(convnet_png_flag_16bit_srgb())
        var rgba = [UInt8](repeating: 0, count: width * height * 4)
        let finished = rgba.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, png_int_32(width * 4), nil) }
        guard finished != 0 else { throw ImageError("\(name): corrupt PNG (\(message(image)))") }
        var pixels = [UInt8](repeating: 0, count: width * height * channels)
        for i in 0..<(width * height) {
            let alpha = Int(rgba[4 * i + 3])
            // On white: (c a + 255 (255 - a)) / 255, rounded; an opaque pixel's bytes stay as they are.
            func onWhite(_ c: UInt8) -> Int { (Int(c) * alpha + 255 * (255 - alpha) + 127) / 255 }
            let (r, g, b) = (onWhite(rgba[4 * i]), onWhite(rgba[4 * i + 1]), onWhite(rgba[4 * i + 2]))
            if channels == 1 {
                pixels[i] = UInt8((19595 * r + 38470 * g + 7471 * b + 32768) >> 16)
            } else {
                (pixels[3 * i], pixels[3 * i + 1], pixels[3 * i + 2]) = (UInt8(r), UInt8(g), UInt8(b))
            }
        }
        return Picture(width: width, height: height, channels: channels, pixels: pixels)
    }

    /// The picture in `data` as grey (what `predict` reads digits as).
    public static func decode(_ data: Data, name: String) throws -> GreyImage {
        try decode(data, name: name, channels: 1).grey
    }

    /// An 8-bit grey or RGB PNG of `picture`.
    public static func encode(_ picture: Picture) -> Data {
        var image = png_image()
        image.version = png_uint_32(convnet_png_image_version())
        image.width = png_uint_32(picture.width)
        image.height = png_uint_32(picture.height)
        image.format = picture.channels == 1 ? convnet_png_format_gray() : convnet_png_format_rgb()
        let stride = png_int_32(picture.width * picture.channels)
        var size: png_alloc_size_t = 0
        picture.pixels.withUnsafeBytes { _ = png_image_write_to_memory(&image, nil, &size, 0, $0.baseAddress, stride, nil) }
        var out = Data(count: Int(size))
        let written = out.withUnsafeMutableBytes { buffer in
            picture.pixels.withUnsafeBytes { png_image_write_to_memory(&image, buffer.baseAddress, &size, 0, $0.baseAddress, stride, nil) }
        }
        precondition(written != 0, "libpng could not write a PNG it sized: \(message(image))")
        return out.prefix(Int(size))
    }

    public static func encode(_ image: GreyImage) -> Data { encode(Picture(image)) }

    private static func message(_ image: png_image) -> String {
        var text = image.message
        let message = withUnsafeBytes(of: &text) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        return message.isEmpty ? "libpng gave no reason" : message
    }
}
