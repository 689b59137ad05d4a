import ConvNetData
import Foundation
import KindRegistry

/// A labelled data set on disk, in one of the formats convnet-dist reads: training and test samples
/// of a folder. A format is one conforming type in one file, plus one line in `DataFormat.kinds`.
///
/// Contract: `loadTraining(shard:)` keeps only the samples `i` of the file order with
/// `i % shard.count == shard.index` (each rank holds only its shard), in file order; every format
/// yields the same `LabelledImages` (bytes, labels, shape) for the same pictures in the same order,
/// so the trained weights do not depend on the container. Shapes and labels are checked against
/// the model before anything is trained; every fault is a `DataError` naming the file.
public protocol DataSetFiles: Sendable {
    /// The format's name: `[data] format` in configs, `--data-format` on the command line.
    static var format: String { get }
    /// What the folder must hold, for help texts and errors.
    static var layout: String { get }
    /// The data set in `directory`; nothing is read yet.
    init(directory: String, options: DataSetOptions)
    /// True when the folder holds what the format needs (for `--download`).
    var isComplete: Bool { get }
    func loadTraining(shard: Shard, expectedShape: [Int], classes: Int) throws -> LabelledImages
    /// False when the folder holds training samples only (an image folder in the single layout):
    /// `loadTest` then throws, and training must hold out a `validation_split` instead.
    var hasTestSet: Bool { get }
    func loadTest(shard: Shard, expectedShape: [Int], classes: Int) throws -> LabelledImages
    /// The names of the classes, index by index, where the data set has them (image folders); nil: none.
    func classNames() throws -> [String]?
}

extension DataSetFiles {
    /// Every format but image folders always has a test set.
    public var hasTestSet: Bool { true }
    public func classNames() throws -> [String]? { nil }
}

/// How a data set is read, beyond its folder; formats that decode (image folders) use them.
public struct DataSetOptions: Sendable {
    /// Decoding threads.
    public var threads = 1
    /// Leave out pictures that cannot be decoded (a warning and a count) instead of stopping.
    public var skipBadFiles = false
    /// Called now and then from the decoding threads with the pictures decoded so far and the total.
    public var progress: (@Sendable (_ done: Int, _ total: Int) -> Void)?
    /// Where notes (how long decoding took) go; the default drops them.
    public var note: @Sendable (String) -> Void = { _ in }
    /// Where warnings (files skipped) go; the default prints them to standard error.
    public var warn: @Sendable (String) -> Void = { FileHandle.standardError.write(Data("warning: \($0)\n".utf8)) }
    /// Called with the samples (and values per sample) a reader is about to hold, before it allocates
    /// them, by readers whose samples in memory can far exceed their files (an image folder resizes
    /// every picture to the model's input); throws to refuse (the run's memory limit).
    public var willHold: (@Sendable (_ samples: Int, _ sampleSize: Int) throws -> Void)?

    public init(threads: Int = 1, skipBadFiles: Bool = false) {
        self.threads = threads
        self.skipBadFiles = skipBadFiles
    }
}

/// IDX files are the `idx` format (the type lives in ConvNetData, which the fuzzers build alone).
extension IDXFiles: DataSetFiles {
    public static let format = "idx"
    public static let layout = "the four MNIST IDX files (train-images-idx3-ubyte[.gz], ...)"
    public init(directory: String, options: DataSetOptions) { self.init(directory: directory) }
}

/// The registry of data formats: `[data] format` in configs, `--data-format` on the command line.
public enum DataFormat {
    public static let kinds: [any DataSetFiles.Type] = [
        IDXFiles.self,
        KaggleCSVFiles.self,
        NPZFiles.self,
        ImageFolderFiles.self,
        CIFARFiles.self,
    ]

    public static let registry = Registry("data format", kinds, name: { $0.format })

    public static var names: [String] { registry.names }

    /// The data set in `directory` read as format `name`.
    public static func files(format name: String, directory: String, options: DataSetOptions = DataSetOptions()) throws -> any DataSetFiles {
        try registry.kind(named: name, key: nil, error: DataError.init).init(directory: directory, options: options)
    }
}

extension LabelledImages {
    /// Checks decoded samples against the model (`[height, width, channels]`, labels below `classes`)
    /// and wraps them. `fileIndex` maps a local sample to its index in the file, for messages.
    static func checked(pixels: [UInt8], labels: [UInt8], height: Int, width: Int, channels: Int, shard: Shard,
                        totalCount: Int, source: String, expectedShape: [Int], classes: Int) throws -> LabelledImages {
        guard expectedShape == [height, width, channels] else {
            throw DataError("dimensions mismatch: \(source) holds \(height)x\(width)x\(channels) images but the model expects \(expectedShape.map(String.init).joined(separator: "x"))")
        }
        if let bad = labels.firstIndex(where: { Int($0) >= classes }) {
            throw DataError("\(source): label \(labels[bad]) of sample \(bad * shard.count + shard.index) is out of range for \(classes) classes")
        }
        return LabelledImages(pixels: pixels, labels: labels, height: height, width: width, channels: channels,
                              shard: shard, totalCount: totalCount)
    }
}
