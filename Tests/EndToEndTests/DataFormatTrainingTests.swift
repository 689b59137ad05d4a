import ConvNetData
import DataFormats
import Foundation
import TestSupport
import XCTest

/// The same MNIST samples as IDX, Kaggle CSV, `.npz` and a folder of PNGs train the same model, byte
/// for byte (also on 2 ranks, each reading only its shard of the CSV or decoding only its pictures).
final class DataFormatTrainingTests: XCTestCase {
    func testCSVNPZAndPNGFolderTrainTheSameBytesAsIDX() throws {
        let idx = try makeSmallMNIST(self, trainCount: 1280, testCount: 200)
        let files = IDXFiles(directory: idx)
        let sets = [("train", try files.loadTraining(expectedShape: [28, 28, 1], classes: 10)),
                    ("test", try files.loadTest(expectedShape: [28, 28, 1], classes: 10))]
        let csv = try makeTemporaryDirectory(self), npz = try makeTemporaryDirectory(self)
        for (name, set) in sets {
            try FormatWriters.csv(pixels: set.pixels, labels: set.labels, pixelsPerImage: 784)
                .write(toFile: "\(csv)/\(name).csv", atomically: true, encoding: .utf8)
        }
        try FormatWriters.npz(path: npz + "/mnist.npz", arrays: sets.flatMap { name, set in
            [("x_\(name)", FormatWriters.npy(shape: [set.count, 28, 28], data: set.pixels)),
             ("y_\(name)", FormatWriters.npy(shape: [set.count], data: set.labels))]
        })
        let folder = try makeTemporaryDirectory(self)
        for (name, set) in sets { try ImageFolderWriter.write(set, to: "\(folder)/\(name)", encoding: .png) }
        func train(_ format: String, _ directory: String, ranks: Int = 1) throws -> Data {
            let runDirectory = try makeTemporaryDirectory(self)
            let arguments = ["train", "--data-dir", directory, "--data-format", format, "--run-dir", runDirectory,
                             "--epochs", "1", "--threads", "1", "--quiet"]
            let result = ranks == 1 ? try runCommand(productBinary, arguments, timeout: 300) : try runUnderMPI(ranks, arguments)
            XCTAssertEqual(result.status, 0, "\(format): \(result.error)")
            if format != "idx" {
                let config = try String(contentsOfFile: runDirectory + "/config.toml", encoding: .utf8)
                XCTAssertTrue(config.contains("format = \"\(format)\""), "the run folder's config names the format")
            }
            return try Data(contentsOf: URL(fileURLWithPath: runDirectory + "/model.safetensors"))
        }
        let reference = try train("idx", idx)
        XCTAssertEqual(try train("csv", csv), reference, "csv")
        XCTAssertEqual(try train("csv", csv, ranks: 2), reference, "csv on 2 ranks")
        XCTAssertEqual(try train("npz", npz), reference, "npz")
        XCTAssertEqual(try train("folder", folder), reference, "PNG folder")
        XCTAssertEqual(try train("folder", folder, ranks: 2), reference, "PNG folder on 2 ranks")
    }
}
