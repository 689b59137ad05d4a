import ConvNetConfig
import ConvNetData
import Foundation
import Images
import TestSupport
import XCTest

/// The run folder and its pictures, `plot`, `predict`, and the console options.
final class UsabilityTests: XCTestCase {
    private func run(_ arguments: [String]) throws -> CommandResult {
        let result = try runCommand(productBinary, arguments)
        XCTAssertEqual(result.status, 0, result.error)
        return result
    }

    private func lastMetrics(_ runDirectory: String) throws -> [String: String] {
        let rows = try String(contentsOfFile: runDirectory + "/metrics.csv", encoding: .utf8).split(separator: "\n")
        let header = rows[0].split(separator: ",").map(String.init), last = rows.last!.split(separator: ",").map(String.init)
        return Dictionary(uniqueKeysWithValues: zip(header, last))
    }

    func testRunFolderHoldsConfigMetricsCheckpointsAndPictures() throws {
        let data = try makeSmallMNIST(self, trainCount: 3200, testCount: 500)
        let runDirectory = try makeTemporaryDirectory(self) + "/run"
        try run(["train", "--data-dir", data, "--run-dir", runDirectory, "--epochs", "2", "--quiet"])
        for file in ["config.toml", "metrics.csv", "confusion.csv", "curves.svg", "confusion.svg", "model.safetensors", "checkpoints/latest"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: runDirectory + "/" + file), file)
        }
        XCTAssertEqual(try ExperimentConfig.load(path: runDirectory + "/config.toml").epochs, 2)
        let metrics = try lastMetrics(runDirectory)
        XCTAssertEqual(metrics["epoch"], "2")
        let curves = try String(contentsOfFile: runDirectory + "/curves.svg", encoding: .utf8)
        for (label, value) in [("train_loss", 4), ("test_loss", 4)] {
            let expected = String(format: "%.\(value)f", Double(metrics[label]!)!)
            XCTAssertTrue(curves.contains("(last \(expected))"), "curves.svg shows \(label) \(expected)")
        }
        let testAccuracy = String(format: "%.2f", 100 * Double(metrics["test_accuracy"]!)!)
        XCTAssertTrue(curves.contains("(last \(testAccuracy))"), "curves.svg shows test accuracy \(testAccuracy)")
        for axis in [">epoch<", ">loss<", ">accuracy (%)<", ">train (last", ">test (last"] { XCTAssertTrue(curves.contains(axis), axis) }
        let confusion = try String(contentsOfFile: runDirectory + "/confusion.svg", encoding: .utf8)
        let correct = Int((Double(metrics["test_accuracy"]!)! * 500).rounded())
        XCTAssertTrue(confusion.contains("\(correct) of 500 test images correct (\(testAccuracy) %)"), "confusion.svg agrees with metrics.csv")
        XCTAssertTrue(confusion.contains(">predicted class<") && confusion.contains(">true class<"))

        try FileManager.default.removeItem(atPath: runDirectory + "/curves.svg")
        try FileManager.default.removeItem(atPath: runDirectory + "/confusion.svg")
        let redraw = try run(["plot", runDirectory])
        XCTAssertTrue(redraw.output.contains("curves.svg") && redraw.output.contains("confusion.svg"))
        XCTAssertEqual(try String(contentsOfFile: runDirectory + "/curves.svg", encoding: .utf8), curves)
    }

    /// Test images written out as files (PNG dark-on-light at twice the size, and PGM as they are)
    /// are recognised.
    func testPredictRecognisesDigitsFromPNGAndPGM() throws {
        let mnist = try SharedData.mnistDirectory()
        let runDirectory = try makeTemporaryDirectory(self)
        try run(["train", "--data-dir", mnist, "--run-dir", runDirectory, "--max-steps", "500", "--quiet"])
        let test = try IDXFiles(directory: mnist).loadTest(expectedShape: [28, 28, 1], classes: 10)
        let folder = try makeTemporaryDirectory(self)
        var files: [String] = [], labels: [UInt8] = []
        for index in 0..<5 {
            let pixels = Array(test.pixels[(index * 784)..<((index + 1) * 784)])
            let image = GreyImage(width: 28, height: 28, pixels: pixels)
            var big = [UInt8](repeating: 0, count: 56 * 56)
            for y in 0..<56 { for x in 0..<56 { big[y * 56 + x] = 255 - pixels[(y / 2) * 28 + x / 2] } }
            let png = folder + "/digit\(index).png", pgm = folder + "/digit\(index).pgm"
            try PNG.encode(GreyImage(width: 56, height: 56, pixels: big)).write(to: URL(fileURLWithPath: png))
            try PGM.encode(image).write(to: URL(fileURLWithPath: pgm))
            XCTAssertEqual(try PNG.decode(try Data(contentsOf: URL(fileURLWithPath: png)), name: png).pixels, big, "PNG round trip")
            files += [png, pgm]
            labels += [test.labels[index], test.labels[index]]
        }
        let result = try run(["predict", "--checkpoint", runDirectory + "/model.safetensors"] + files)
        let lines = result.output.split(separator: "\n")
        XCTAssertEqual(lines.count, files.count, result.output)
        for (line, (file, label)) in zip(lines, zip(files, labels)) {
            XCTAssertTrue(line.hasPrefix("\(file): \(label) ("), "expected \(label): \(line)")
        }
        let art = try run(["predict", "--checkpoint", runDirectory + "/model.safetensors", "--test-index", "0", "--data-dir", mnist])
        XCTAssertTrue(art.output.contains("test image 0: label 7; predicted 7 ("), art.output)
        XCTAssertGreaterThanOrEqual(art.output.split(separator: "\n").count, 29)
    }

    func testPrintConfigShowsTheResolvedRecipe() throws {
        let result = try run(["train", "--print-config", "--epochs", "7", "--optimizer", "adam"])
        let config = try ExperimentConfig.parse(toml: result.output)
        XCTAssertEqual(config.epochs, 7)
        XCTAssertEqual(config.optimizer.name, "adam")
        XCTAssertEqual(config.model, ExperimentConfig.reference.model)
    }

    func testJSONLogsAreOneObjectPerLine() throws {
        let data = try makeSmallMNIST(self, trainCount: 640, testCount: 100)
        let result = try run(["train", "--data-dir", data, "--run-dir", try makeTemporaryDirectory(self), "--epochs", "1", "--json-logs"])
        let events = try result.output.split(separator: "\n").map { line in
            try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])["event"] as? String
        }
        XCTAssertTrue(events.contains("epoch"), result.output)
        XCTAssertTrue(events.allSatisfy { $0 != nil })
    }
}
