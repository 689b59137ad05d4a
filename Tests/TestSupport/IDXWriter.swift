import Foundation

/// Writes small IDX files for tests: big-endian magic and dimensions, then the bytes.
public enum IDXWriter {
    public static func bytes(magic: UInt32, dimensions: [UInt32], payload: [UInt8]) -> [UInt8] {
        ([magic] + dimensions).flatMap { withUnsafeBytes(of: $0.bigEndian, Array.init) } + payload
    }

    /// Writes a labelled image set in MNIST layout: `PREFIX-images-idx3-ubyte` and `PREFIX-labels-idx1-ubyte`.
    public static func writeSet(directory: String, prefix: String, pixels: [UInt8], labels: [UInt8],
                                rows: Int = 28, columns: Int = 28) throws {
        let count = UInt32(labels.count)
        try Data(bytes(magic: 2051, dimensions: [count, UInt32(rows), UInt32(columns)], payload: pixels))
            .write(to: URL(fileURLWithPath: "\(directory)/\(prefix)-images-idx3-ubyte"))
        try Data(bytes(magic: 2049, dimensions: [count], payload: labels))
            .write(to: URL(fileURLWithPath: "\(directory)/\(prefix)-labels-idx1-ubyte"))
    }
}
