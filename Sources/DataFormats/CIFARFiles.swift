import ConvNetData
import Foundation

/// The `cifar10` format: CIFAR-10's binary version, as its archive unpacks (in the data folder, or
/// in its `cifar-10-batches-bin` subfolder): `data_batch_1.bin` .. `data_batch_5.bin` (training, in
/// that order) and `test_batch.bin`. Each file is a run of 3,073-byte records: one label byte (0-9),
/// then 3,072 pixel bytes, the red, green and blue planes of a 32x32 picture, each row-major.
///
/// Samples come out NHWC (`pixel[y][x][c] = record[1 + c * 1024 + y * 32 + x]`), as bytes that the
/// batches scale by `x / 255` like every format's. Training sample `i` is the `i`-th record of the
/// five files in order; each rank keeps its shard only. Every record's label is checked on every
/// rank (a bad file is refused by all alike); class names come from `batches.meta.txt`, when present.
public struct CIFARFiles: DataSetFiles {
    public static let format = "cifar10"
    public static let layout = "CIFAR-10's binary version: data_batch_1.bin .. data_batch_5.bin and test_batch.bin (and batches.meta.txt)"
    public static let trainingFiles = (1...5).map { "data_batch_\($0).bin" }
    public static let testFile = "test_batch.bin"
    public static let metaFile = "batches.meta.txt"
    /// The folder the canonical archive unpacks to.
    public static let archiveFolder = "cifar-10-batches-bin"
    public static let side = 32, channels = 3, classCount = 10
    public static let pixelBytes = side * side * channels
    public static let recordSize = 1 + pixelBytes
    /// `batches.meta.txt` is ten short names: a larger file is not CIFAR-10's.
    static let maximumMetaBytes = 1 << 16

    public let directory: String

    public init(directory: String, options: DataSetOptions = DataSetOptions()) { self.directory = directory }

    public var isComplete: Bool {
        (Self.trainingFiles + [Self.testFile]).allSatisfy { (try? RegularFile.check(path($0))) != nil }
    }

    /// Where the files are: the data folder, or the archive's folder inside it when only that holds them.
    var folder: String {
        let nested = (directory as NSString).appendingPathComponent(Self.archiveFolder)
        let inNested = FileManager.default.fileExists(atPath: (nested as NSString).appendingPathComponent(Self.trainingFiles[0]))
        let inPlace = FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent(Self.trainingFiles[0]))
        return inNested && !inPlace ? nested : directory
    }

    func path(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }

    public func loadTraining(shard: Shard, expectedShape: [Int], classes: Int) throws -> LabelledImages {
        try load(Self.trainingFiles, shard: shard, expectedShape: expectedShape, classes: classes)
    }

    public func loadTest(shard: Shard, expectedShape: [Int], classes: Int) throws -> LabelledImages {
        try load([Self.testFile], shard: shard, expectedShape: expectedShape, classes: classes)
    }

    /// The non-empty lines of `batches.meta.txt` (airplane, automobile, ...); nil when the file is absent.
    public func classNames() throws -> [String]? {
        let meta = path(Self.metaFile)
        guard FileManager.default.fileExists(atPath: meta) else { return nil }
        let size = try RegularFile.check(meta)
        guard size <= Self.maximumMetaBytes, let data = FileManager.default.contents(atPath: meta),
              let text = String(data: data, encoding: .utf8) else {
            throw DataError("\(meta): not CIFAR-10's class list (ten names, one a line, in UTF-8); delete it or put the ten names in it")
        }
        let names = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard names.count == Self.classCount else {
            throw DataError("\(meta) names \(names.count) classes, CIFAR-10 has \(Self.classCount); put the ten names in it, one a line")
        }
        if let bad = names.first(where: { $0.unicodeScalars.contains { $0.properties.generalCategory == .control } }) {
            throw DataError("\(meta): the class name \(quoted(bad)) holds a control character; class names are written one a line")
        }
        return names
    }

    private func load(_ names: [String], shard: Shard, expectedShape: [Int], classes: Int) throws -> LabelledImages {
        let shape = [Self.side, Self.side, Self.channels]
        guard expectedShape == shape else {
            throw DataError("dimensions mismatch: \(folder) holds CIFAR-10's 32x32x3 images but the model expects "
                            + expectedShape.map(String.init).joined(separator: "x"))
        }
        // Every file is checked before any is read: a missing or odd-sized fifth batch stops the run at once.
        var files: [(path: String, records: Int)] = []
        for name in names {
            let file = path(name)
            guard FileManager.default.fileExists(atPath: file) else {
                throw DataError("data file \(file) not found; get the data with `convnet-dist download --dataset cifar10 --data-dir \(directory)`, "
                                + "or pass --data-dir DIR to a folder holding \(Self.layout)")
            }
            let size = try RegularFile.check(file)
            guard size > 0, size % Self.recordSize == 0 else {
                throw DataError("\(file): \(size) bytes is not a whole number of \(Self.recordSize)-byte CIFAR-10 records "
                                + "(1 label byte + 3072 pixel bytes each); the file is truncated or not CIFAR-10's binary version")
            }
            files.append((file, size / Self.recordSize))
        }
        let total = files.reduce(0) { $0 + $1.records }
        var pixels: [UInt8] = [], labels: [UInt8] = []
        pixels.reserveCapacity(shard.size(of: total) * Self.pixelBytes)
        labels.reserveCapacity(shard.size(of: total))
        var first = 0
        for file in files {
            try Self.read(file.path, records: file.records, firstSample: first, shard: shard, pixels: &pixels, labels: &labels)
            first += file.records
        }
        return try LabelledImages.checked(pixels: pixels, labels: labels, height: Self.side, width: Self.side, channels: Self.channels,
                                          shard: shard, totalCount: total, source: folder, expectedShape: expectedShape, classes: classes)
    }

    /// Streams `path`'s records (sample `firstSample` onwards), checking every label and keeping the
    /// shard's pictures, planes turned to NHWC.
    private static func read(_ path: String, records: Int, firstSample: Int, shard: Shard,
                             pixels: inout [UInt8], labels: inout [UInt8]) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw DataError("\(path): cannot open file") }
        defer { try? handle.close() }
        let plane = side * side
        let recordsPerChunk = 256
        var record = 0
        while record < records {
            let count = min(recordsPerChunk, records - record)
            let chunk: Data
            do { chunk = try handle.read(upToCount: count * recordSize) ?? Data() } catch {
                throw DataError("\(path): read error (\(quoted("\(error)", limit: 60)))")
            }
            guard chunk.count == count * recordSize else {
                throw DataError("\(path): truncated while reading (the file shrank to \(record * recordSize + chunk.count) bytes)")
            }
            try chunk.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
                for r in 0..<count {
                    let start = r * recordSize
                    let label = bytes[start]
                    guard Int(label) < classCount else {
                        throw DataError("\(path): label \(label) of record \(record + r) is not a CIFAR-10 class (0-9)")
                    }
                    guard shard.contains(firstSample + record + r) else { continue }
                    labels.append(label)
                    let base = pixels.count
                    pixels.append(contentsOf: repeatElement(0, count: pixelBytes))
                    pixels.withUnsafeMutableBufferPointer { out in
                        for c in 0..<channels {
                            let source = start + 1 + c * plane
                            for p in 0..<plane { out[base + p * channels + c] = bytes[source + p] }
                        }
                    }
                }
            }
            record += count
        }
    }
}
