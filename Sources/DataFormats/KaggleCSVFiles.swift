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

    /// The largest CSV file read. The file is read whole, as text, and parsed: about three times its
    /// size in memory. Kaggle's 42,000-image train.csv is 73 MB; larger sets belong in npz or idx.
    public static let maximumFileBytes = 1 << 30

    /// Reads a labelled CSV file, keeping the rows of `shard`. The image size comes from the model
    /// (a CSV row does not say it): the header must name `label` and the `height * width * channels`
    /// pixel columns `pixel0...` (or `pixel1...`, as Fashion-MNIST's CSV files), in any order: pandas
    /// may have sorted them as strings (`pixel0,pixel1,pixel10,...`), and the pixel number, not the
    /// column's position, says where a value goes.
    public static func read(path: String, shard: Shard, expectedShape: [Int], classes: Int) throws -> LabelledImages {
        // Every reader bounds sizes by the file's size before allocating: here the whole file is read,
        // so its size is checked first (a 2 GiB file would be read, copied as text, then abort).
        let size = try RegularFile.check(path)
        // An empty file ends here (and Foundation's file reading leaks a buffer on one).
        guard size > 0 else { throw DataError("\(path): empty file (expected a header row label,pixel0,...)") }
        guard size <= maximumFileBytes else {
            throw DataError("\(path): \(size) bytes; the csv format reads files up to \(maximumFileBytes >> 20) MiB "
                            + "(they are read whole): save larger data sets as .npz (numpy.savez) or IDX files")
        }
        // Whole, as a string: CSV.swift's stream reader ends Linux files with a spurious read error.
        guard let data = FileManager.default.contents(atPath: path) else { throw DataError("\(path): cannot read file") }
        guard let text = String(data: data, encoding: .utf8) else { throw DataError("\(path): not UTF-8 text") }
        let reader: CSVReader
        do { reader = try CSVReader(string: text, hasHeaderRow: true) } catch {
            throw DataError("\(path): no header row (expected label,pixel0,pixel1,...)")
        }
        let header = (reader.headerRow ?? []).map { $0.trimmingCharacters(in: .whitespaces) }
        let pixelsPerImage = expectedShape.reduce(1, *)
        let destination = try pixelColumns(header, pixelsPerImage: pixelsPerImage, shape: expectedShape, path: path)
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
            let start = pixels.count
            pixels.append(contentsOf: repeatElement(0, count: pixelsPerImage))
            for (column, field) in fields.enumerated() {
                // Trimming only when needed: Foundation's trimming costs more than the parse.
                guard let value = UInt8(field) ?? UInt8(field.trimmingCharacters(in: .whitespaces)) else {
                    throw DataError("\(path) line \(line), column \(header[column]): \(quoted(field, limit: 20)) is not a whole number 0...255")
                }
                let pixel = destination[column]
                if pixel < 0 { labels.append(value) } else { pixels[start + pixel] = value }
            }
        }
        if let error = reader.error { throw DataError("\(path) line \(row + 2): \(quoted("\(error)", limit: 80))") }
        return try LabelledImages.checked(pixels: pixels, labels: labels, height: expectedShape[0], width: expectedShape[1],
                                          channels: expectedShape[2], shard: shard, totalCount: row, source: path,
                                          expectedShape: expectedShape, classes: classes)
    }

    /// For each column of `header`, the pixel it holds (0-based, row-major, channels last), or -1 for
    /// the label: every pixel column named exactly once, numbered from 0 or from 1.
    static func pixelColumns(_ header: [String], pixelsPerImage: Int, shape: [Int], path: String) throws -> [Int] {
        let needs = "the model's \(shape.map(String.init).joined(separator: "x")) input needs a label column and \(pixelsPerImage) pixel columns"
        guard header.contains("label") else {
            throw DataError("\(path): no \"label\" column (the first is \(quoted(header.first ?? "", limit: 20))); a file without "
                            + "labels (Kaggle's test.csv) is for `predict`, not for training")
        }
        guard header.count == pixelsPerImage + 1 else {
            throw DataError("\(path): the header has \(header.count) columns; \(needs)")
        }
        var numbers: [Int] = []
        numbers.reserveCapacity(header.count)
        for name in header {
            if name == "label" { numbers.append(-1); continue }
            guard name.hasPrefix("pixel"), let number = Int(name.dropFirst(5)), number >= 0, String(number) == name.dropFirst(5) else {
                throw DataError("\(path): column \(quoted(name, limit: 20)) is neither \"label\" nor a pixel column pixel0, pixel1, ...")
            }
            numbers.append(number)
        }
        let base = numbers.filter { $0 >= 0 }.min() ?? 0
        let names = "pixel0...pixel\(pixelsPerImage - 1) (or pixel1...pixel\(pixelsPerImage))"
        var seen = [Bool](repeating: false, count: pixelsPerImage), labelSeen = false
        for number in numbers {
            if number < 0 {
                guard !labelSeen else { throw DataError("\(path): two \"label\" columns; \(needs)") }
                labelSeen = true
                continue
            }
            let pixel = number - base
            guard base <= 1, pixel < pixelsPerImage else { throw DataError("\(path): column pixel\(number) is out of range; \(needs), \(names) in any order") }
            guard !seen[pixel] else { throw DataError("\(path): two columns named pixel\(number); \(needs), \(names) in any order") }
            seen[pixel] = true
        }
        return numbers.map { $0 < 0 ? -1 : $0 - base }
    }
}
