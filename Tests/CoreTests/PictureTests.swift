import Foundation
import Images
import TestSupport
import XCTest

/// Decoding (libpng, libjpeg-turbo), the size guard, and Keras's bilinear resize.
final class PictureTests: XCTestCase {
    /// A picture whose pixel at (x, y) is (37 x + 11 y) mod 256, as the golden values below were made.
    private func pattern(height: Int, width: Int) -> Picture {
        Picture(width: width, height: height, channels: 1,
                pixels: (0..<height).flatMap { y in (0..<width).map { x in UInt8((x * 37 + y * 11) % 256) } })
    }

    /// Goldens: `np.round(tf.image.resize(pattern, (h, w), method="bilinear"))` with TensorFlow 2.21.
    func testBilinearResizeMatchesTensorFlow() {
        XCTAssertEqual(BilinearResize.resize(pattern(height: 5, width: 7), height: 3, width: 4).pixels,
                       [18, 82, 147, 212, 36, 101, 165, 230, 54, 119, 184, 142])
        XCTAssertEqual(BilinearResize.resize(pattern(height: 3, width: 2), height: 7, width: 5).pixels,
                       [0, 4, 18, 33, 37, 2, 5, 20, 35, 39, 6, 10, 25, 40, 43, 11, 15, 30, 44, 48,
                        16, 19, 34, 49, 53, 20, 24, 39, 54, 57, 22, 26, 40, 55, 59])
        let same = pattern(height: 4, width: 4)
        XCTAssertEqual(BilinearResize.resize(same, height: 4, width: 4), same, "the model's size is left as it is")
    }

    func testPNGAndJPEGRoundTrips() throws {
        let grey = pattern(height: 9, width: 13)
        XCTAssertEqual(try PNG.decode(PNG.encode(grey), name: "g.png", channels: 1), grey)
        let rgb = Picture(width: 5, height: 3, channels: 3, pixels: (0..<45).map { UInt8($0 * 5) })
        XCTAssertEqual(try PNG.decode(PNG.encode(rgb), name: "c.png", channels: 3), rgb)
        // Grey read as RGB repeats the grey value; RGB read as grey is one channel.
        XCTAssertEqual(try PNG.decode(PNG.encode(grey), name: "g.png", channels: 3).pixels, grey.pixels.flatMap { [$0, $0, $0] })
        XCTAssertEqual(try PNG.decode(PNG.encode(rgb), name: "c.png", channels: 1).pixels.count, 15)
        // JPEG is lossy: at quality 100 a smooth grey ramp comes back within a few levels.
        let ramp = Picture(width: 16, height: 16, channels: 1, pixels: (0..<256).map { UInt8($0 % 16 * 16 + $0 / 16) })
        let decoded = try PictureFile.decode(JPEG.encode(ramp, quality: 100), name: "r.jpg", channels: 1)
        XCTAssertLessThanOrEqual(zip(decoded.pixels, ramp.pixels).map { abs(Int($0) - Int($1)) }.max()!, 3)
    }

    /// Colour to grey is libjpeg's `0.299 R + 0.587 G + 0.114 B` for PNG and JPEG alike (libpng's own
    /// conversion, in linear light, would make pure red 126).
    func testColourToGreyIsTheSameForPNGAndJPEG() throws {
        let red = Picture(width: 8, height: 8, channels: 3, pixels: (0..<64).flatMap { _ in [UInt8(255), 0, 0] })
        XCTAssertEqual(Set(try PNG.decode(PNG.encode(red), name: "red.png", channels: 1).pixels), [76])
        let jpeg = try JPEG.decode(JPEG.encode(red, quality: 100), name: "red.jpg", channels: 1).pixels
        XCTAssertLessThanOrEqual(jpeg.map { abs(Int($0) - 76) }.max()!, 1, "\(jpeg)")
    }

    /// Damaged or hostile files are errors naming the file, never a crash or a huge allocation.
    func testMalformedPicturesAreRefused() {
        func message(_ data: Data) -> String {
            do { _ = try PictureFile.decode(data, name: "x", channels: 1); return "accepted" } catch { return "\(error)" }
        }
        let png = PNG.encode(pattern(height: 8, width: 8))
        XCTAssertTrue(message(png.prefix(png.count - 20)).hasPrefix("x: corrupt PNG ("), message(png.prefix(png.count - 20)))
        var flipped = [UInt8](png)
        flipped[40] ^= 0xFF   // inside the compressed data: its CRC no longer matches
        XCTAssertTrue(message(Data(flipped)).hasPrefix("x: corrupt PNG"), message(Data(flipped)))
        XCTAssertEqual(message(FormatWriters.pngClaiming(width: 100_000, height: 100_000)),
                       "x: the PNG header claims 100000x100000 pixels; at most 32768 per side and 67108864 pixels are decoded")
        let jpeg = JPEG.encode(pattern(height: 16, width: 16), quality: 90)
        XCTAssertTrue(message(jpeg.prefix(jpeg.count / 2)).hasPrefix("x: cannot decode JPEG ("), message(jpeg.prefix(jpeg.count / 2)))
        XCTAssertTrue(message(Data([0xFF, 0xD8, 0xFF, 0xE0, 0, 2])).hasPrefix("x: cannot decode JPEG"), message(Data([0xFF, 0xD8, 0xFF, 0xE0, 0, 2])))
        XCTAssertEqual(message(Data("GIF89a".utf8)), "x: not a PNG, JPEG or PGM picture")
    }
}
