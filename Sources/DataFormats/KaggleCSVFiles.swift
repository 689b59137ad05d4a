import ConvNetData
import CSV
import Foundation

/// The `csv` format, as Kaggle's digit recognizer: `DIR/train.csv` and `DIR/test.csv`, a header row
/// `label,pixel0,...,pixel783`, then one image per row: its label and its pixels (0-255) in row-major
/// order (channels last). Kaggle's own test file has no `label` column: that one is for `predict`,
/// not for training's test set. Parsing is CSV.swift's; we check what the values mean.
public struct KaggleCSVFiles: DataSetFiles {
    public static let format = "csv"
    public static let layout = "train.csv and test.csv as Kaggle's digit recognizer (label,pixel0,...)"
    public static let trainFile = "train.csv"
    public static let testFile = "test.csv"

    public let directory: String

    public init(directory: String, options: DataSetOptions = DataSetOptions()) { self.directory = directory }

    public var isComplete: Bool {
        [Self.trainFile, Self.testFile].allSatisfy { FileManager.default.fileExists(atPath: path($0)) }
    }

    public func loadTraining(shard: Shard, expectedShape: [Int], classes: Int) throws -> LabelledImages {
        try Self.read(path: path(Self.trainFile), shard: shard, expectedShape: expectedShape, classes: classes)
    }

    public func loadTest(shard: Shard, expectedShape: [Int], classes: Int) throws -> LabelledImages {
        try Self.read(path: path(Self.testFile), shard: shard, expectedShape: expectedShape, classes: classes)
    }

    private func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }

    /// Reads a labelled CSV file, keeping the rows of `shard`. The image size comes from the model
    /// (a CSV row does not say it): the row must hold exactly `height * width * channels` pixels.
    public static func read(path: String, shard: Shard, expectedShape: [Int], classes: Int) throws -> LabelledImages {
        // An empty file ends here (and Foundation's file reading leaks a buffer on one).
        guard try RegularFile.check(path) > 0 else { throw DataError("\(path): empty file (expected a header row label,pixel0,...)") }
        // Whole, as a string: CSV.swift's stream reader ends Linux files with a spurious read error.
        guard let data = FileManager.default.contents(atPath: path) else { throw DataError("\(path): cannot read file") }
        guard let text = String(data: data, encoding: .utf8) else { throw DataError("\(path): not UTF-8 text") }
        let reader: CSVReader
        do { reader = try CSVReader(string: text, hasHeaderRow: true) } catch {
            throw DataError("\(path): no header row (expected label,pixel0,pixel1,...)")
        }
        let header = reader.headerRow ?? []
        let pixelsPerImage = expectedShape.reduce(1, *)
        guard header.first?.trimmingCharacters(in: .whitespaces) == "label" else {
            throw DataError("\(path): the first column is \"\(header.first ?? "")\", not \"label\"; a file without labels (Kaggle's test.csv) is for `predict`, not for training")
        }
        guard header.count == pixelsPerImage + 1 else {
            throw DataError("\(path): the header has \(header.count) columns; the model's \(expectedShape.map(String.init).joined(separator: "x")) input needs label + \(pixelsPerImage) pixels")
        }
        var pixels: [UInt8] = [], labels: [UInt8] = []
        var row = 0
        while let fields = reader.next() {
            defer { row += 1 }
            let line = row + 2   // 1-based, after the header
            guard fields.count == header.count else {
                if fields.count == 1 && fields[0].isEmpty { row -= 1; continue }   // a blank line
                throw DataError("\(path) line \(line): \(fields.count) values, expected \(header.count) (label + \(pixelsPerImage) pixels)")
            }
            guard shard.contains(row) else { continue }
            for (column, field) in fields.enumerated() {
                // Trimming only when needed: Foundation's trimming costs more than the parse.
                guard let value = UInt8(field) ?? UInt8(field.trimmingCharacters(in: .whitespaces)) else {
                    throw DataError("\(path) line \(line), column \(header[column]): \"\(field.prefix(20))\" is not a whole number 0...255")
                }
                if column == 0 { labels.append(value) } else { pixels.append(value) }
            }
        }
        if let error = reader.error { throw DataError("\(path) line \(row + 2): \(error)") }
        return try LabelledImages.checked(pixels: pixels, labels: labels, height: expectedShape[0], width: expectedShape[1],
                                          channels: expectedShape[2], shard: shard, totalCount: row, source: path,
                                          expectedShape: expectedShape, classes: classes)
    }
}
