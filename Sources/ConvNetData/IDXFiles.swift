import Foundation

/// The `idx` format: the four standard IDX files of MNIST and data sets that share its layout
/// (Fashion-MNIST, ...), gzipped or plain. The fastest to load: no decoding.
public struct IDXFiles: Sendable {
    public static let trainImages = "train-images-idx3-ubyte"
    public static let trainLabels = "train-labels-idx1-ubyte"
    public static let testImages = "t10k-images-idx3-ubyte"
    public static let testLabels = "t10k-labels-idx1-ubyte"
    public static let all = [trainImages, trainLabels, testImages, testLabels]

    public let directory: String

    public init(directory: String) { self.directory = directory }

    /// True when all four files are present (compressed or not).
    public var isComplete: Bool { IDXFiles.all.allSatisfy { (try? path($0)) != nil } }

    /// The path of a standard file, preferring `NAME.gz` and accepting an uncompressed `NAME`.
    public func path(_ name: String) throws -> String {
        let base = (directory as NSString).appendingPathComponent(name)
        for candidate in [base + ".gz", base] where FileManager.default.fileExists(atPath: candidate) {
            return candidate
        }
        throw DataError("data file \(base).gz not found (nor \(name) uncompressed) in \(directory); "
            + "get the data with `convnet-dist download --data-dir \(directory)` (or add --download to train), "
            + "or pass --data-dir DIR / set CONVNET_DATA_DIR to a folder holding the four IDX files")
    }

    /// Loads the training set (only `shard`'s samples are kept) and checks it against the model.
    public func loadTraining(shard: Shard = .whole, expectedShape: [Int], classes: Int) throws -> LabelledImages {
        try load(images: IDXFiles.trainImages, labels: IDXFiles.trainLabels, shard: shard,
                 expectedShape: expectedShape, classes: classes)
    }

    public func loadTest(shard: Shard = .whole, expectedShape: [Int], classes: Int) throws -> LabelledImages {
        try load(images: IDXFiles.testImages, labels: IDXFiles.testLabels, shard: shard,
                 expectedShape: expectedShape, classes: classes)
    }

    private func load(images imageName: String, labels labelName: String, shard: Shard,
                      expectedShape: [Int], classes: Int) throws -> LabelledImages {
        let imagePath = try path(imageName), labelPath = try path(labelName)
        let images = try IDX.readImages(path: imagePath, shard: shard,
                                        expectedSize: expectedShape.count == 3 && expectedShape[2] == 1 ? (expectedShape[0], expectedShape[1]) : nil)
        let labels = try IDX.readLabels(path: labelPath, shard: shard)
        return try LabelledImages.checked(images: images, imagePath: imagePath, labels: labels,
                                          labelPath: labelPath, expectedShape: expectedShape, classes: classes)
    }
}

extension LabelledImages {
    /// Pairs IDX images with IDX labels after checking that counts agree, the image size matches
    /// the model's `[height, width, 1]` input, and every label is below `classes`.
    public static func checked(images: IDXImages, imagePath: String, labels: IDXLabels, labelPath: String,
                               expectedShape: [Int], classes: Int) throws -> LabelledImages {
        guard images.totalCount == labels.totalCount else {
            throw DataError("count mismatch: \(imagePath) holds \(images.totalCount) images but \(labelPath) holds \(labels.totalCount) labels")
        }
        guard expectedShape == [images.rows, images.columns, 1] else {
            throw DataError("dimensions mismatch: \(imagePath) holds \(images.rows)x\(images.columns) images but the model expects \(expectedShape.map(String.init).joined(separator: "x"))")
        }
        if let bad = labels.labels.firstIndex(where: { Int($0) >= classes }) {
            let fileIndex = bad * labels.shard.count + labels.shard.index
            throw DataError("\(labelPath): label \(labels.labels[bad]) at index \(fileIndex) is out of range for \(classes) classes")
        }
        return LabelledImages(pixels: images.pixels, labels: labels.labels, height: images.rows,
                              width: images.columns, channels: 1, shard: images.shard, totalCount: images.totalCount)
    }
}
