import Foundation

/// `confusion.svg`: the test-set confusion matrix, rows = true class, columns = predicted class,
/// each cell shaded by its share of the row and labelled with its count.
public enum ConfusionMatrixChart {
    /// `matrix` is square; totals saturate at `Int.max` rather than trap (counts read from a file are
    /// bounded by `RunFolderPlots.countRange`, so they never get there).
    public static func svg(_ matrix: [[Int]], title: String) -> String {
        let classes = matrix.count
        precondition(matrix.allSatisfy { $0.count == classes }, "a confusion matrix is square")
        let cell = 40.0, left = 90.0, top = 100.0
        let side = cell * Double(classes)
        var svg = SVG(width: left + side + 40, height: top + side + 70)
        let total = matrix.joined().reduce(0, sum)
        let correct = (0..<classes).reduce(0) { sum($0, matrix[$1][$1]) }
        let accuracy = total > 0 ? 100 * Double(correct) / Double(total) : 0
        svg.text((left + side) / 2 + 20, 28, title, size: 16, anchor: .middle, bold: true)
        svg.text((left + side) / 2 + 20, 48, "\(correct) of \(total) test images correct (\(String(format: "%.2f", accuracy)) %)",
                 size: 12, anchor: .middle)
        svg.text(left + side / 2, top - 28, "predicted class", size: 13, anchor: .middle)
        svg.text(left - 52, top + side / 2, "true class", size: 13, anchor: .middle, rotate: -90)
        for row in 0..<classes {
            let rowTotal = max(1, matrix[row].reduce(0, sum))
            svg.text(left - 10, top + (Double(row) + 0.5) * cell + 4, String(row), size: 12, anchor: .end)
            svg.text(left + (Double(row) + 0.5) * cell, top - 8, String(row), size: 12, anchor: .middle)
            for column in 0..<classes {
                let count = matrix[row][column]
                let share = Double(count) / Double(rowTotal)
                let x = left + Double(column) * cell, y = top + Double(row) * cell
                svg.rect(x, y, cell, cell, fill: shade(share, diagonal: row == column), stroke: "#ffffff")
                if count > 0 {
                    svg.text(x + cell / 2, y + cell / 2 + 4, String(count), size: count >= 1000 ? 10 : 11, anchor: .middle,
                             color: share > 0.5 ? "#ffffff" : "#222")
                }
            }
        }
        svg.text(left, top + side + 30, "Cells: count of test images; colour: share of the true class's images.", size: 11)
        return svg.document
    }

    /// `a + b`, saturated at the ends of `Int`.
    private static func sum(_ a: Int, _ b: Int) -> Int {
        let (result, overflow) = a.addingReportingOverflow(b)
        return overflow ? (b > 0 ? .max : .min) : result
    }

    /// Blue for correct answers, red for mistakes, darker for a larger share of the row.
    private static func shade(_ share: Double, diagonal: Bool) -> String {
        let strength = diagonal ? share : min(1, share * 8)
        let (r, g, b) = diagonal ? (31.0, 119.0, 180.0) : (214.0, 39.0, 40.0)
        func mix(_ c: Double) -> Int { Int(255 - (255 - c) * strength) }
        return String(format: "#%02x%02x%02x", mix(r), mix(g), mix(b))
    }
}
