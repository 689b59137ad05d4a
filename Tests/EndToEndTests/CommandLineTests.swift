import Foundation
import TestSupport
import XCTest

/// Bad input to the CLI: one line on standard error naming the problem, a non-zero exit, no crash.
final class CommandLineTests: XCTestCase {
    private func failure(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let result = try runCommand(productBinary, arguments)
        XCTAssertNotEqual(result.status, 0, "expected failure for \(arguments)", file: file, line: line)
        XCTAssertEqual(result.status, result.status & 0x7f, "no crash", file: file, line: line)
        return result.error
    }

    func testSummaryPrintsTheReferenceModel() throws {
        let result = try runCommand(productBinary, ["summary", "--config", SharedData.packageRoot.path + "/configs/mnist.toml"])
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertTrue(result.output.contains("Total params: 93,322"))
    }

    func testMissingDataDirectory() throws {
        let error = try failure(["train", "--data-dir", "/nonexistent/mnist", "--run-dir", try makeTemporaryDirectory(self)])
        XCTAssertTrue(error.contains("error: data file /nonexistent/mnist/train-images-idx3-ubyte.gz not found"), error)
        XCTAssertEqual(error.split(separator: "\n").count, 1, error)
    }

    func testBadConfigFile() throws {
        let path = try makeTemporaryDirectory(self) + "/bad.toml"
        try "[model]\ninput_shape = [28, 28, 1]\nclasses = 10\nlayerz = 3\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertTrue(try failure(["train", "--config", path]).contains("unknown key model.layerz"))
        XCTAssertTrue(try failure(["summary", "--config", "/nonexistent.toml"]).contains("cannot read config file"))
    }

    func testBadFlags() throws {
        XCTAssertTrue(try failure(["train", "--threads", "0"]).contains("--threads must be at least 1"))
        XCTAssertTrue(try failure(["train", "--batch-size", "0"]).contains("--batch-size must be at least 1"))
        XCTAssertTrue(try failure(["train", "--optimizer", "lamb"]).contains("unknown optimizer \"lamb\""))
        XCTAssertTrue(try failure(["train", "--lr=-1"]).contains("--lr must be a positive number"))
        XCTAssertTrue(try failure(["train", "--epochz", "1"]).contains("Unknown option '--epochz'"))
    }

    func testNonFiniteLossStopsWithTheStep() throws {
        let runDirectory = try makeTemporaryDirectory(self)
        let error = try failure(["train", "--data-dir", try SharedData.mnistDirectory(), "--run-dir", runDirectory,
                                 "--optimizer", "sgd", "--lr", "1e30", "--max-steps", "50"])
        XCTAssertTrue(error.contains("non-finite"), error)
        XCTAssertTrue(error.contains("global step"), error)
    }
}
