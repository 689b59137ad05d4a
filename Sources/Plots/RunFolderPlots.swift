import Foundation

/// Reads a run folder's `metrics.csv` and `confusion.csv` and writes `curves.svg` and `confusion.svg`.
public enum RunFolderPlots {
    public static func redraw(runDirectory: String) throws -> [String] {
        let folder = runDirectory as NSString
        var written: [String] = []
        let metricsPath = folder.appendingPathComponent("metrics.csv")
        guard let metrics = try text(metricsPath) else {
            throw PlotError("\(metricsPath) not found: is \(runDirectory) a run folder?")
        }
        let points = try curvePoints(csv: metrics, path: metricsPath)
        let curves = folder.appendingPathComponent("curves.svg")
        try TrainingCurves.svg(points, title: "Training curves: \((runDirectory as NSString).lastPathComponent)")
            .write(toFile: curves, atomically: true, encoding: .utf8)
        written.append(curves)
        let confusionPath = folder.appendingPathComponent("confusion.csv")
        if let text = try text(confusionPath) {
            let matrix = try confusionMatrix(csv: text, path: confusionPath)
            let picture = folder.appendingPathComponent("confusion.svg")
            try ConfusionMatrixChart.svg(matrix, title: "Test-set confusion matrix after epoch \(points.last?.epoch ?? 0)")
                .write(toFile: picture, atomically: true, encoding: .utf8)
            written.append(picture)
        }
        return written
    }

    /// The largest `metrics.csv` or `confusion.csv` read: 100,000 epochs of metrics take about 10 MB.
    public static let maximumFileBytes = 64 << 20
    /// The largest confusion matrix drawn: a model has at most 256 classes.
    public static let maximumClasses = 256
    /// Epoch numbers drawn: far beyond any run, and exact as the Doubles the chart computes with.
    public static let epochRange = 0...1_000_000_000
    /// Counts in a confusion matrix: far beyond any test set, and 256 x 256 of them sum without overflow.
    public static let countRange = 0...(1 << 40)

    /// The text of the file at `path`; nil when there is no such file. Every reader bounds sizes by the
    /// file's size before allocating: a file over `maximumFileBytes` is refused unread.
    static func text(_ path: String) throws -> String? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
        guard attributes[.type] as? FileAttributeType == .typeRegular else { throw PlotError("\(path): not a regular file") }
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        guard size <= maximumFileBytes else {
            throw PlotError("\(path): \(size) bytes; plot reads run files of at most \(maximumFileBytes >> 20) MiB: is it the file a run wrote?")
        }
        guard size > 0 else { return "" }   // (Foundation's file reading leaks a buffer on an empty file)
        guard let data = FileManager.default.contents(atPath: path) else { throw PlotError("\(path): cannot read file") }
        guard let text = String(data: data, encoding: .utf8) else { throw PlotError("\(path): not UTF-8 text") }
        return text
    }

    /// Epoch rows of `metrics.csv`; a shortened epoch that was later completed keeps its last row.
    public static func curvePoints(csv: String, path: String) throws -> [CurvePoint] {
        let lines = csv.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        guard let header = lines.first else { throw PlotError("\(path) is empty") }
        func column(_ name: String) throws -> Int {
            guard let index = header.firstIndex(of: name) else { throw PlotError("\(path) has no column \(name)") }
            return index
        }
        let (e, tl, ta, vl, va) = (try column("epoch"), try column("train_loss"), try column("train_accuracy"),
                                   try column("test_loss"), try column("test_accuracy"))
        // Runs with a validation split have these too; an epoch without validation leaves them empty.
        let validation = header.firstIndex(of: "val_loss").flatMap { loss in header.firstIndex(of: "val_accuracy").map { (loss, $0) } }
        var byEpoch: [Int: CurvePoint] = [:]
        for (number, row) in lines.dropFirst().enumerated() {
            // A run without a test set leaves the test columns empty.
            let testEmpty = row.count == header.count && row[vl].isEmpty && row[va].isEmpty
            guard row.count == header.count, let epoch = Int(row[e]), let a = Double(row[tl]), let b = Double(row[ta]),
                  testEmpty || (Double(row[vl]) != nil && Double(row[va]) != nil) else {
                throw PlotError("\(path): line \(number + 2) is malformed")
            }
            guard epochRange.contains(epoch) else {
                throw PlotError("\(path): line \(number + 2): epoch \(epoch) is outside \(epochRange.lowerBound)...\(epochRange.upperBound)")
            }
            let (c, d) = testEmpty ? (nil, nil) : (Double(row[vl]), Double(row[va]))
            var point = CurvePoint(epoch: epoch, trainLoss: a, trainAccuracy: b, testLoss: c, testAccuracy: d)
            if let (loss, accuracy) = validation, !row[loss].isEmpty || !row[accuracy].isEmpty {
                guard let l = Double(row[loss]), let a = Double(row[accuracy]) else {
                    throw PlotError("\(path): line \(number + 2) is malformed")
                }
                point.validationLoss = l
                point.validationAccuracy = a
            }
            byEpoch[epoch] = point
        }
        return byEpoch.keys.sorted().map { byEpoch[$0]! }
    }

    public static func confusionMatrix(csv: String, path: String) throws -> [[Int]] {
        // Bounded before parsing: the rows are counted first, and each cell is checked as it is read.
        let lines = csv.split(separator: "\n").dropFirst()
        guard lines.count <= maximumClasses else {
            throw PlotError("\(path) holds \(lines.count) rows; plot draws confusion matrices of at most \(maximumClasses) classes")
        }
        var rows: [[Int]] = []
        for (number, line) in lines.enumerated() {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false).dropFirst()
            guard !lines.isEmpty, cells.count == lines.count else { throw PlotError("\(path) is not a square matrix") }
            rows.append(try cells.map { cell in
                guard let count = Int(cell), countRange.contains(count) else {
                    throw PlotError("\(path): line \(number + 2) holds a cell that is not a count in \(countRange.lowerBound)...2^40")
                }
                return count
            })
        }
        guard !rows.isEmpty else { throw PlotError("\(path) is not a square matrix") }
        return rows
    }

    /// `confusion.csv`: header `true\predicted,0,1,...`, then one row per true class.
    public static func confusionCSV(_ matrix: [[Int]]) -> String {
        let header = "true\\predicted," + (0..<matrix.count).map(String.init).joined(separator: ",")
        let rows = matrix.enumerated().map { "\($0.offset)," + $0.element.map(String.init).joined(separator: ",") }
        return ([header] + rows).joined(separator: "\n") + "\n"
    }
}

public struct PlotError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
