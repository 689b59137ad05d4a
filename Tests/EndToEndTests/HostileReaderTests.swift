import Foundation
import Plots
import TestSupport
import XCTest

/// Issue 23's reader cases that need the binary (a trap must fail the test, not end the test run):
/// `plot` on huge or hostile run files, `download` beside a huge file of an expected name. Each is a
/// one-line error (or the right result) and no crash; the in-process reader cases are in DataFormatTests.
final class HostileReaderTests: XCTestCase {
    private let metrics = "epoch,steps,train_loss,train_accuracy,test_loss,test_accuracy,epoch_seconds,samples_per_second,eval_seconds\n"
        + "1,10,0.5,0.8,0.4,0.85,1.0,100,0.1\n2,10,0.3,0.9,0.2,0.93,1.0,100,0.1\n"

    /// A run folder holding `metrics` and `confusion` (when given) as its CSV files.
    private func runFolder(metrics: String, confusion: String? = nil) throws -> String {
        let directory = try makeTemporaryDirectory(self)
        try metrics.write(toFile: directory + "/metrics.csv", atomically: true, encoding: .utf8)
        try confusion?.write(toFile: directory + "/confusion.csv", atomically: true, encoding: .utf8)
        return directory
    }

    private func plotFailure(_ run: String) throws -> String {
        let started = Date()
        let result = try runCommand(productBinary, ["plot", run], timeout: 60)
        XCTAssertFalse(result.crashed, "crashed: \(result.error)")
        XCTAssertNotEqual(result.status, 0, "plot accepted \(run)")
        XCTAssertEqual(result.error.split(separator: "\n").count, 1, result.error)
        XCTAssertLessThan(Date().timeIntervalSince(started), 5, "plot took long")
        return result.error
    }

    /// A 1500 x 1500 confusion.csv took over 30 s and 1.1 GB to draw: refused from its row count.
    func testPlotRefusesAConfusionMatrixOverTheClassLimit() throws {
        let n = 1500
        let rows = (0..<n).map { "\($0)," + [String](repeating: "1", count: n).joined(separator: ",") }
        let confusion = "true\\predicted," + (0..<n).map(String.init).joined(separator: ",") + "\n" + rows.joined(separator: "\n") + "\n"
        let error = try plotFailure(try runFolder(metrics: metrics, confusion: confusion))
        XCTAssertTrue(error.contains("confusion.csv holds 1500 rows; plot draws confusion matrices of at most 256 classes"), error)
    }

    /// Counts near 2^63 overflowed the chart's sums (a trap): a one-line error.
    func testPlotRefusesHugeCounts() throws {
        let confusion = "true\\predicted,0,1\n0,9223372036854775807,1\n1,1,9223372036854775807\n"
        let error = try plotFailure(try runFolder(metrics: metrics, confusion: confusion))
        XCTAssertTrue(error.contains("confusion.csv: line 2 holds a cell that is not a count in 0...2^40"), error)
    }

    /// Epochs of +-2^63 trapped in the chart's tick arithmetic: a one-line error naming the line.
    func testPlotRefusesEpochsOutOfRange() throws {
        for epoch in ["9223372036854775807", "-9223372036854775808"] {
            let error = try plotFailure(try runFolder(metrics: metrics.replacingOccurrences(of: "\n2,", with: "\n\(epoch),")))
            XCTAssertTrue(error.contains("metrics.csv: line 3: epoch \(epoch) is outside 0...1000000000"), error)
        }
    }

    /// A 3 GB file under an MNIST file's name was read whole to be checksummed: its size says it is not
    /// the file, so it is downloaded again without being read.
    func testDownloadDoesNotReadAFileOfTheWrongSize() throws {
        let source = try SharedData.mnistDirectory()
        let directory = try makeTemporaryDirectory(self)
        let big = directory + "/train-images-idx3-ubyte.gz"
        XCTAssertTrue(FileManager.default.createFile(atPath: big, contents: nil))
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: big))
        try handle.truncate(atOffset: 3_000_000_000)   // sparse
        try handle.close()
        let started = Date()
        let result = try runCommand(productBinary, ["download", "--data-dir", directory, "--mirror", URL(fileURLWithPath: source).absoluteString],
                                    timeout: 120)
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertTrue(result.output.contains("train-images-idx3-ubyte.gz: present but 3000000000 bytes, not 9912422: downloading it again"),
                      result.output)
        XCTAssertLessThan(Date().timeIntervalSince(started), 5, "the 3 GB file was read")
        XCTAssertEqual((try FileManager.default.attributesOfItem(atPath: big)[.size] as? NSNumber)?.intValue, 9_912_422)
    }

    /// A data folder that cannot be made: the system's words, not "NSCocoaErrorDomain error 512".
    func testDownloadFolderErrorsAreInPlainWords() throws {
        let file = try makeTemporaryDirectory(self) + "/file"
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data()))
        let result = try runCommand(productBinary, ["download", "--data-dir", file + "/mnist", "--mirror", "file:///nonexistent/"], timeout: 60)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.error.contains("cannot create \(file)/mnist: Not a directory; choose another --data-dir"), result.error)
    }
}
