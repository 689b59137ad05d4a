import Foundation
import Images
import ZIPFoundation

/// Writes small data sets in the `csv` and `npz` formats for tests, as Kaggle and NumPy would.
public enum FormatWriters {
    /// A Kaggle-style CSV: `label,pixel0,...` then one row per image.
    public static func csv(pixels: [UInt8], labels: [UInt8], pixelsPerImage: Int) -> String {
        var lines = ["label," + (0..<pixelsPerImage).map { "pixel\($0)" }.joined(separator: ",")]
        for (n, label) in labels.enumerated() {
            lines.append(String(label) + "," + pixels[(n * pixelsPerImage)..<((n + 1) * pixelsPerImage)].map(String.init).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A NumPy `.npy` array: version 1.0 header padded to 64 bytes, then the data.
    public static func npy(descr: String = "|u1", shape: [Int], data: [UInt8]) -> Data {
        let shapeText = "(" + shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? ",)" : ")")
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xff), UInt8(header.utf8.count >> 8)]
        bytes += Array(header.utf8) + data
        return Data(bytes)
    }

    /// A `.npz` archive (deflated, as `numpy.savez_compressed`) holding `arrays` as `NAME.npy`.
    public static func npz(path: String, arrays: [(name: String, data: Data)]) throws {
        try? FileManager.default.removeItem(atPath: path)
        let archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .create)
        for (name, data) in arrays {
            try archive.addEntry(with: name + ".npy", type: .file, uncompressedSize: Int64(data.count),
                                 compressionMethod: .deflate) { position, size in
                data.subdata(in: Int(position)..<(Int(position) + size))
            }
        }
    }

    /// A valid 1x1 grey PNG whose header chunk (with a correct CRC) claims `width` x `height` pixels.
    public static func pngClaiming(width: Int, height: Int) -> Data {
        func be32(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 255), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }
        var bytes = [UInt8](PNG.encode(Picture(width: 1, height: 1, channels: 1, pixels: [0])))
        bytes.replaceSubrange(16..<24, with: be32(width) + be32(height))
        var crc: UInt32 = 0xFFFF_FFFF   // CRC-32 of the chunk's type and body, as PNG computes it
        for byte in bytes[12..<29] {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        bytes.replaceSubrange(29..<33, with: be32(Int(~crc)))
        return Data(bytes)
    }
}
