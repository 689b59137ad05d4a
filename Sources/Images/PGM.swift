import Foundation

/// Netpbm greymaps: binary `P5` and plain `P2`, any maxval up to 65535, scaled to 8 bits.
public enum PGM {
    public static func decode(_ data: Data, name: String) throws -> GreyImage {
        let bytes = [UInt8](data)
        var position = 0
        func token() throws -> String {
            while position < bytes.count {   // skip white space and # comments
                if bytes[position] == UInt8(ascii: "#") {
                    while position < bytes.count && bytes[position] != 10 { position += 1 }
                } else if [9, 10, 13, 32].contains(bytes[position]) {
                    position += 1
                } else { break }
            }
            let start = position
            while position < bytes.count && ![9, 10, 13, 32].contains(bytes[position]) { position += 1 }
            guard position > start else { throw ImageError("\(name): truncated PGM header") }
            return String(decoding: bytes[start..<position], as: UTF8.self)
        }
        let magic = try token()
        guard magic == "P5" || magic == "P2" else { throw ImageError("\(name): not a PGM file (magic \(magic))") }
        guard let width = Int(try token()), let height = Int(try token()), let maxval = Int(try token()),
              width > 0, height > 0, width <= PictureLimits.maximumSide, height <= PictureLimits.maximumSide,
              width * height <= PictureLimits.maximumPixels,
              maxval > 0, maxval <= 65535 else {
            throw ImageError("\(name): bad PGM size or maxval")
        }
        let count = width * height
        var values = [Int](repeating: 0, count: count)
        if magic == "P5" {
            position += 1   // the single white-space byte after maxval
            let size = maxval > 255 ? 2 : 1
            guard bytes.count - position >= count * size else { throw ImageError("\(name): truncated PGM data") }
            for i in 0..<count {
                values[i] = size == 1 ? Int(bytes[position + i])
                    : Int(bytes[position + 2 * i]) << 8 | Int(bytes[position + 2 * i + 1])
            }
        } else {
            for i in 0..<count {
                guard let value = Int(try token()), value >= 0, value <= maxval else {
                    throw ImageError("\(name): bad PGM sample \(i): not a number in 0...\(maxval)")
                }
                values[i] = value
            }
        }
        // A binary sample may exceed maxval; it is clamped, as netpbm does.
        return GreyImage(width: width, height: height, pixels: values.map { UInt8(min(255, min($0, maxval) * 255 / maxval)) })
    }

    /// Binary `P5` with maxval 255.
    public static func encode(_ image: GreyImage) -> Data {
        Data("P5\n\(image.width) \(image.height)\n255\n".utf8) + Data(image.pixels)
    }
}
