/// A labelled image set held as bytes (a quarter of the memory of floats): `count` images of
/// `height x width x channels` pixels and one class label each. Pixels become `x / 255` only
/// when a batch is filled.
public struct LabelledImages: Sendable {
    public let pixels: [UInt8]
    public let labels: [UInt8]
    public let height: Int
    public let width: Int
    public let channels: Int
    /// Which samples of the source file these are: local sample `i` is file sample `i * shard.count + shard.index`.
    public let shard: Shard
    /// Samples in the source file, across all shards.
    public let totalCount: Int

    public var count: Int { labels.count }
    public var sampleSize: Int { height * width * channels }

    public init(pixels: [UInt8], labels: [UInt8], height: Int, width: Int, channels: Int,
                shard: Shard = .whole, totalCount: Int? = nil) {
        precondition(pixels.count == labels.count * height * width * channels)
        self.pixels = pixels
        self.labels = labels
        self.height = height
        self.width = width
        self.channels = channels
        self.shard = shard
        self.totalCount = totalCount ?? labels.count
    }

    /// Writes sample `index` (local to this shard) as floats `x / 255` and returns its label.
    @inline(__always)
    public func write(sample index: Int, to destination: UnsafeMutablePointer<Float>) -> Int32 {
        let size = sampleSize
        pixels.withUnsafeBufferPointer { LabelledImages.writeUnitFloats($0.baseAddress! + index * size, count: size, to: destination) }
        return Int32(labels[index])
    }

    /// `destination[i] = Float(bytes[i]) / 255`, exactly as Keras divides: a true division, not a
    /// multiplication by `1 / 255`, which rounds differently. The loop vectorises (several divisions
    /// an instruction), which beats a 256-entry table.
    @inline(__always)
    public static func writeUnitFloats(_ bytes: UnsafePointer<UInt8>, count: Int, to destination: UnsafeMutablePointer<Float>) {
        for i in 0..<count { destination[i] = Float(bytes[i]) / 255 }
    }
}
