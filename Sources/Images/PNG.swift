import CPNG
import Foundation

/// PNG through libpng's simplified API (`png_image`): every colour type, bit depth and interlacing
/// libpng reads, converted by libpng to 8-bit grey or RGB; alpha is composited on white (a digit drawn
/// on a transparent canvas reads as ink on paper). libpng reports errors through the `png_image`
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
        image.format = channels == 1 ? convnet_png_format_gray() : convnet_png_format_rgb()
        var pixels = [UInt8](repeating: 0, count: width * height * channels)
        var white = png_color(red: 255, green: 255, blue: 255)
        let finished = pixels.withUnsafeMutableBytes {
            png_image_finish_read(&image, &white, $0.baseAddress, png_int_32(width * channels), nil)
        }
        guard finished != 0 else { throw ImageError("\(name): corrupt PNG (\(message(image)))") }
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
