import Foundation

/// One epoch's numbers, as `metrics.csv` holds them.
public struct CurvePoint: Equatable, Sendable {
    public var epoch: Int
    public var trainLoss: Double
    public var trainAccuracy: Double
    /// Nil when the run has no test set.
    public var testLoss: Double?
    public var testAccuracy: Double?
    /// On the samples held out by `validation_split`; nil when the run has none (or had none then).
    public var validationLoss: Double?
    public var validationAccuracy: Double?

    public init(epoch: Int, trainLoss: Double, trainAccuracy: Double, testLoss: Double?, testAccuracy: Double?,
                validationLoss: Double? = nil, validationAccuracy: Double? = nil) {
        self.epoch = epoch
        self.trainLoss = trainLoss
        self.trainAccuracy = trainAccuracy
        self.testLoss = testLoss
        self.testAccuracy = testAccuracy
        self.validationLoss = validationLoss
        self.validationAccuracy = validationAccuracy
    }
}

/// `curves.svg`: two panels, loss and accuracy per epoch, train (solid), test (dashed) when the data
/// set has a test set, and validation (dotted) when the run holds samples out.
public enum TrainingCurves {
    static let trainColor = "#1f77b4"
    static let testColor = "#d62728"
    static let validationColor = "#2ca02c"

    public static func svg(_ points: [CurvePoint], title: String = "Training curves") -> String {
        var svg = SVG(width: 900, height: 400)
        svg.text(450, 28, title, size: 18, anchor: .middle, bold: true)
        panel(&svg, x: 70, points: points, title: "Loss (categorical cross-entropy)", yLabel: "loss",
              train: points.map(\.trainLoss), test: points.map { $0.testLoss ?? .nan },
              validation: points.map { $0.validationLoss ?? .nan }, percent: false)
        panel(&svg, x: 520, points: points, title: "Accuracy", yLabel: "accuracy (%)",
              train: points.map { 100 * $0.trainAccuracy }, test: points.map { 100 * ($0.testAccuracy ?? .nan) },
              validation: points.map { 100 * ($0.validationAccuracy ?? .nan) }, percent: true)
        return svg.document
    }

    private static func panel(_ svg: inout SVG, x left: Double, points: [CurvePoint], title: String, yLabel: String,
                              train: [Double], test: [Double], validation: [Double], percent: Bool) {
        let top = 60.0, width = 340.0, height = 260.0, bottom = top + height
        svg.text(left + width / 2, top - 12, title, size: 14, anchor: .middle, bold: true)
        svg.rect(left, top, width, height, fill: "none", stroke: "#444")
        let epochs = points.map { Double($0.epoch) }
        let values = (train + test + validation).filter(\.isFinite)
        guard let firstEpoch = epochs.min(), let lastEpoch = epochs.max(), var low = values.min(), var high = values.max() else {
            svg.text(left + width / 2, top + height / 2, "no epochs yet", anchor: .middle)
            return
        }
        let span = max(high - low, percent ? 0.5 : 1e-3)
        low = percent ? max(0, low - 0.1 * span) : max(0, low - 0.1 * span)
        high = percent ? min(100, high + 0.1 * span) : high + 0.1 * span
        if high <= low { high = low + 1 }
        let xSpan = max(lastEpoch - firstEpoch, 1)
        func px(_ e: Double) -> Double { left + 20 + (e - firstEpoch) / xSpan * (width - 40) }
        func py(_ v: Double) -> Double { bottom - (v - low) / (high - low) * height }

        for i in 0...4 {   // y grid and ticks
            let v = low + Double(i) / 4 * (high - low)
            svg.line(left, py(v), left + width, py(v), color: "#ddd")
            svg.text(left - 6, py(v) + 4, String(format: percent ? "%.2f" : "%.3f", v), size: 10, anchor: .end)
        }
        let tickEvery = max(1, Int((xSpan / 10).rounded(.up)))
        for e in stride(from: Int(firstEpoch), through: Int(lastEpoch), by: tickEvery) {   // x ticks
            svg.line(px(Double(e)), bottom, px(Double(e)), bottom + 5)
            svg.text(px(Double(e)), bottom + 18, String(e), size: 10, anchor: .middle)
        }
        svg.text(left + width / 2, bottom + 36, "epoch", size: 12, anchor: .middle)
        svg.text(left - 48, top + height / 2, yLabel, size: 12, anchor: .middle, rotate: -90)

        // Epochs without test or validation figures are NaN: no point, and no legend entry for a run without any.
        let hasTest = points.contains { $0.testLoss != nil }, hasValidation = validation.contains(where: \.isFinite)
        let testSeries: [([Double], String, String?)] = hasTest ? [(test, testColor, "6,4")] : []
        let validationSeries = hasValidation ? [(validation, validationColor, "2,3")] : []
        for (series, color, dash) in [(train, trainColor, nil)] + testSeries + validationSeries as [([Double], String, String?)] {
            let line = zip(epochs, series).filter { $0.1.isFinite }.map { (px($0.0), py($0.1)) }
            if line.count > 1 { svg.polyline(line, color: color, dash: dash) }
            for p in line { svg.circle(p.0, p.1, radius: 3, color: color) }
        }
        // Legend, with the last values, so the picture can be checked against metrics.csv.
        let validationEntry = hasValidation ? [("val", validationColor, "2,3", validation.last(where: \.isFinite))] : []
        let testEntry: [(String, String, String?, Double?)] = hasTest ? [("test", testColor, "6,4", test.last)] : []
        let entries: [(String, String, String?, Double?)] = [("train", trainColor, nil, train.last)] + testEntry + validationEntry
        // Accuracy rises to the top right: that legend sits at the bottom, its last line 12 above the axis.
        let legendY = percent ? bottom - 12 - Double(entries.count - 1) * 18 : top + 16
        for (i, (label, color, dash, last)) in entries.enumerated() {
            let y = legendY + Double(i) * 18
            svg.line(left + width - 150, y - 4, left + width - 125, y - 4, color: color, width: 2, dash: dash)
            let value = last.map { String(format: percent ? "%.2f" : "%.4f", $0) } ?? "-"
            svg.text(left + width - 120, y, "\(label) (last \(value))", size: 11)
        }
    }
}
