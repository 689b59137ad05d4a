import SystemZlib
import Foundation

/// PNG reading and writing for what a user's digit pictures need: non-interlaced images of bit depth
/// 8 (grey, grey+alpha, RGB, RGBA, palette) or 16, converted to 8-bit grey (alpha composited on white).
public enum PNG {
    static let signature: [UInt8] = [137, 80, 78, 71, 13, 10, 26, 10]
    /// Largest picture decoded (a 4096x4096 photo of a digit is already far more than needed).
    public static let maximumPixels = 1 << 24

    public static func decode(_ data: Data, name: String) throws -> GreyImage {
        let bytes = [UInt8](data)
        guard bytes.count > 8, Array(bytes[0..<8]) == signature else { throw ImageError("\(name): not a PNG file") }
        var position = 8
        var width = 0, height = 0, depth = 0, colorType = 0
        var palette: [UInt8] = []
        var compressed: [UInt8] = []
        func be32(_ at: Int) -> Int { Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3]) }
        while position + 8 <= bytes.count {
            let length = be32(position)
            let type = String(decoding: bytes[(position + 4)..<(position + 8)], as: UTF8.self)
            let body = position + 8
            guard length >= 0, body + length + 4 <= bytes.count else { throw ImageError("\(name): truncated PNG chunk \(type)") }
            switch type {
            case "IHDR":
                guard length == 13 else { throw ImageError("\(name): bad PNG header chunk (length \(length), expected 13)") }
                width = be32(body)
                height = be32(body + 4)
                depth = Int(bytes[body + 8])
                colorType = Int(bytes[body + 9])
                guard bytes[body + 12] == 0 else { throw ImageError("\(name): interlaced PNG is not supported; save it non-interlaced") }
            case "PLTE": palette = Array(bytes[body..<(body + length)])
            case "IDAT": compressed += bytes[body..<(body + length)]
            case "IEND": position = bytes.count
            default: break
            }
            position = body + length + 4
        }
        guard width > 0, height > 0, width <= 1 << 14, height <= 1 << 14, width * height <= PNG.maximumPixels else {
            throw ImageError("\(name): bad PNG size \(width)x\(height) (at most 16384 per side and \(PNG.maximumPixels) pixels)")
        }
        let channels: Int
        switch colorType {
        case 0: channels = 1
        case 2: channels = 3
        case 3: channels = 1
        case 4: channels = 2
        case 6: channels = 4
        default: throw ImageError("\(name): unknown PNG colour type \(colorType)")
        }
        guard depth == 8 || (depth == 16 && colorType != 3) else {
            throw ImageError("\(name): PNG bit depth \(depth) is not supported (use 8 or 16)")
        }
        let pixelBytes = channels * depth / 8, stride = width * pixelBytes
        let raw = try inflate(compressed, expected: height * (stride + 1), name: name)
        var rows = [UInt8](repeating: 0, count: height * stride)
        for y in 0..<height {
            let filter = raw[y * (stride + 1)]
            for x in 0..<stride {
                let value = raw[y * (stride + 1) + 1 + x]
                let left = x >= pixelBytes ? Int(rows[y * stride + x - pixelBytes]) : 0
                let up = y > 0 ? Int(rows[(y - 1) * stride + x]) : 0
                let upLeft = y > 0 && x >= pixelBytes ? Int(rows[(y - 1) * stride + x - pixelBytes]) : 0
                let predictor: Int
                switch filter {
                case 0: predictor = 0
                case 1: predictor = left
                case 2: predictor = up
                case 3: predictor = (left + up) / 2
                case 4:
                    let p = left + up - upLeft
                    let (pa, pb, pc) = (abs(p - left), abs(p - up), abs(p - upLeft))
                    predictor = pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft
                default: throw ImageError("\(name): bad PNG filter type \(filter)")
                }
                rows[y * stride + x] = UInt8(truncatingIfNeeded: Int(value) + predictor)
            }
        }
        var grey = [UInt8](repeating: 0, count: width * height)
        for i in 0..<(width * height) {
            func sample(_ c: Int) -> Double {   // channel c of pixel i, in [0, 255]
                let at = i * pixelBytes + c * depth / 8
                return depth == 8 ? Double(rows[at]) : Double(Int(rows[at]) << 8 | Int(rows[at + 1])) / 257
            }
            var (r, g, b, a): (Double, Double, Double, Double)
            switch colorType {
            case 0: (r, g, b, a) = (sample(0), sample(0), sample(0), 255)
            case 2: (r, g, b, a) = (sample(0), sample(1), sample(2), 255)
            case 3:
                let index = Int(rows[i]) * 3
                guard index + 2 < palette.count else { throw ImageError("\(name): PNG palette index out of range") }
                (r, g, b, a) = (Double(palette[index]), Double(palette[index + 1]), Double(palette[index + 2]), 255)
            case 4: (r, g, b, a) = (sample(0), sample(0), sample(0), sample(1))
            default: (r, g, b, a) = (sample(0), sample(1), sample(2), sample(3))
            }
            let luminance = 0.299 * r + 0.587 * g + 0.114 * b
            grey[i] = UInt8(max(0, min(255, (luminance * a + 255 * (255 - a)) / 255).rounded()))
        }
        return GreyImage(width: width, height: height, pixels: grey)
    }

    /// An 8-bit greyscale PNG (filter 0, zlib level 9).
    public static func encode(_ image: GreyImage) -> Data {
        var raw: [UInt8] = []
        for y in 0..<image.height {
            raw.append(0)
            raw += image.pixels[(y * image.width)..<((y + 1) * image.width)]
        }
        var out = Data(signature)
        func chunk(_ type: String, _ body: [UInt8]) {
            var length = UInt32(body.count).bigEndian
            out.append(Data(bytes: &length, count: 4))
            let typed = Array(type.utf8) + body
            out.append(contentsOf: typed)
            var crc = UInt32(crc32(0, typed, UInt32(typed.count))).bigEndian
            out.append(Data(bytes: &crc, count: 4))
        }
        func be(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 255), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }
        chunk("IHDR", be(image.width) + be(image.height) + [8, 0, 0, 0, 0])
        var size = compressBound(UInt(raw.count))
        var compressed = [UInt8](repeating: 0, count: Int(size))
        compress2(&compressed, &size, raw, UInt(raw.count), 9)
        chunk("IDAT", Array(compressed[0..<Int(size)]))
        chunk("IEND", [])
        return out
    }

    private static func inflate(_ compressed: [UInt8], expected: Int, name: String) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: expected)
        var size = UInt(expected)
        let status = uncompress(&output, &size, compressed, UInt(compressed.count))
        guard status == Z_OK, Int(size) == expected else { throw ImageError("\(name): corrupt or truncated PNG image data") }
        return output
    }
}
