import Foundation
import SystemZlib

/// gzip data decompressed in memory, for archives fetched whole (`download`). Deflate expands up to
/// 1032-fold, so the caller bounds the output by what the archive is known to hold: past `limit`
/// bytes the data is refused before more is allocated. Concatenated gzip members are read in turn.
public enum Gunzip {
    public static func decompress(_ data: Data, limit: Int, name: String) throws -> Data {
        var stream = z_stream()
        guard inflateInit2_(&stream, 16 + MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw DataError("\(name): cannot start zlib")
        }
        defer { inflateEnd(&stream) }
        var output = Data()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        try data.withUnsafeBytes { (input: UnsafeRawBufferPointer) in
            stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: Bytef.self).baseAddress)
            stream.avail_in = uInt(input.count)
            while true {
                let code = buffer.withUnsafeMutableBufferPointer { out -> Int32 in
                    stream.next_out = out.baseAddress
                    stream.avail_out = uInt(out.count)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                let produced = buffer.count - Int(stream.avail_out)
                guard output.count + produced <= limit else {
                    throw DataError("\(name): unpacks to more than \(limit) bytes, more than the data set holds; it is not the expected archive")
                }
                output.append(contentsOf: buffer[0..<produced])
                if code == Z_STREAM_END {
                    if stream.avail_in == 0 { return }
                    inflateReset(&stream)
                    continue
                }
                if code == Z_BUF_ERROR || (code == Z_OK && stream.avail_in == 0 && produced == 0) {
                    throw DataError("\(name): truncated gzip data")
                }
                guard code == Z_OK else {
                    let reason = stream.msg.map { String(cString: $0) } ?? "zlib error \(code)"
                    throw DataError("\(name): corrupt gzip data (\(reason))")
                }
            }
        }
        return output
    }
}
