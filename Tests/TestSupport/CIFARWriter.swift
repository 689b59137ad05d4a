import Foundation

/// Writes small data sets in CIFAR-10's binary layout for tests: records of one label byte and the
/// red, green and blue 32x32 planes, in `data_batch_1.bin` .. `data_batch_5.bin` and `test_batch.bin`.
public enum CIFARWriter {
    public static let classNames = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

    /// The records of NHWC pictures (`pixels`: `labels.count` x 32 x 32 x 3 bytes), planes apart.
    public static func records(pixels: [UInt8], labels: [UInt8]) -> Data {
        var bytes: [UInt8] = []
        for (n, label) in labels.enumerated() {
            bytes.append(label)
            for c in 0..<3 { for p in 0..<1024 { bytes.append(pixels[n * 3072 + p * 3 + c]) } }
        }
        return Data(bytes)
    }

    /// Pictures `0..<count` whose bytes differ by position, channel and sample; labels cycle through the classes.
    public static func pictures(count: Int, seed: Int = 0) -> (pixels: [UInt8], labels: [UInt8]) {
        let pixels = (0..<(count * 3072)).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761 &+ seed &* 97) >> 7) }
        return (pixels, (0..<count).map { UInt8(($0 * 7 + seed) % 10) })
    }

    /// A folder holding `training` split over the five batch files (`perFile` records each, the rest
    /// in the last), `test` as test_batch.bin, and batches.meta.txt as the archive holds it.
    public static func writeSet(directory: String, training: (pixels: [UInt8], labels: [UInt8]),
                                test: (pixels: [UInt8], labels: [UInt8]), perFile: [Int]) throws {
        precondition(perFile.count == 5 && perFile.reduce(0, +) == training.labels.count)
        var start = 0
        for (i, count) in perFile.enumerated() {
            let data = records(pixels: Array(training.pixels[(start * 3072)..<((start + count) * 3072)]),
                               labels: Array(training.labels[start..<(start + count)]))
            try data.write(to: URL(fileURLWithPath: "\(directory)/data_batch_\(i + 1).bin"))
            start += count
        }
        try records(pixels: test.pixels, labels: test.labels).write(to: URL(fileURLWithPath: "\(directory)/test_batch.bin"))
        try Data((classNames.joined(separator: "\n") + "\n\n").utf8).write(to: URL(fileURLWithPath: "\(directory)/batches.meta.txt"))
    }
}
