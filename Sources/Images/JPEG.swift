import CTurboJPEG
import Foundation

/// JPEG through libjpeg-turbo's TurboJPEG API, decoded by the library to 8-bit grey or RGB with the
/// accurate integer DCT (the same bytes on every machine). A warning (a truncated or damaged stream
/// that the library would paint over with grey) is an error: a training picture must be whole.
public enum JPEG {
    public static func isJPEG(_ data: Data) -> Bool { data.starts(with: [0xFF, 0xD8, 0xFF]) }

    public static func decode(_ data: Data, name: String, channels: Int) throws -> Picture {
        guard isJPEG(data) else { throw ImageError("\(name): not a JPEG file") }
        guard let handle = tjInitDecompress() else { throw ImageError("\(name): libjpeg-turbo could not start a decoder") }
        defer { tjDestroy(handle) }
        return try data.withUnsafeBytes { raw -> Picture in
            let source = raw.bindMemory(to: UInt8.self).baseAddress!, size = UInt(raw.count)
            var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
            guard tjDecompressHeader3(handle, source, size, &width, &height, &subsampling, &colorspace) == 0 else {
                throw ImageError("\(name): cannot decode JPEG (\(message(handle)))")
            }
            // A stream cut before its frame header "succeeds" with no size.
            guard width > 0, height > 0 else { throw ImageError("\(name): cannot decode JPEG (no frame header)") }
            try PictureLimits.check(width: Int(width), height: Int(height), format: "JPEG", name: name)
            var pixels = [UInt8](repeating: 0, count: Int(width) * Int(height) * channels)
            let format = channels == 1 ? TJPF_GRAY : TJPF_RGB
            // LIMITSCANS: a progressive stream with thousands of tiny scans would take minutes to decode.
            let flags = TJFLAG_ACCURATEDCT | TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS
            let status = pixels.withUnsafeMutableBufferPointer {
                tjDecompress2(handle, source, size, $0.baseAddress, width, 0, height, Int32(format.rawValue), flags)
            }
            guard status == 0 else { throw ImageError("\(name): cannot decode JPEG (\(message(handle)))") }
            return Picture(width: Int(width), height: Int(height), channels: channels, pixels: pixels)
        }
    }

    /// A baseline JPEG of `picture` at `quality` (1-100): grey stays one channel, RGB is 4:2:0.
    public static func encode(_ picture: Picture, quality: Int) -> Data {
        let handle = tjInitCompress()!
        defer { tjDestroy(handle) }
        var buffer: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        let (format, subsampling) = picture.channels == 1 ? (TJPF_GRAY, TJSAMP_GRAY) : (TJPF_RGB, TJSAMP_420)
        let status = picture.pixels.withUnsafeBufferPointer {
            tjCompress2(handle, $0.baseAddress, Int32(picture.width), 0, Int32(picture.height), Int32(format.rawValue),
                        &buffer, &size, Int32(subsampling.rawValue), Int32(quality), TJFLAG_ACCURATEDCT)
        }
        precondition(status == 0, "libjpeg-turbo could not encode: \(message(handle))")
        defer { tjFree(buffer) }
        return Data(bytes: buffer!, count: Int(size))
    }

    private static func message(_ handle: tjhandle) -> String { String(cString: tjGetErrorStr2(handle)) }
}
