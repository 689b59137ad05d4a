import Foundation
import TestSupport
import XCTest

/// Bad input to the CLI: one line on standard error naming the problem, a non-zero exit, no crash.
final class CommandLineTests: XCTestCase {
    private func failure(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let result = try runCommand(productBinary, arguments)
        XCTAssertNotEqual(result.status, 0, "expected failure for \(arguments)", file: file, line: line)
        XCTAssertFalse(result.crashed, "ended by signal \(result.status), not an error exit", file: file, line: line)
        XCTAssertFalse(result.error.contains("Fatal error"), "a Swift trap: \(result.error)", file: file, line: line)
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
        XCTAssertTrue(try failure(["train", "--threads", "100000"]).contains("--threads must be at most"))
        XCTAssertTrue(try failure(["train", "--batch-size", "9223372036854775807"]).contains("--batch-size must be at most 1048576"))
        XCTAssertTrue(try failure(["train", "--epochs", "9223372036854775807"]).contains("--epochs must be at most 100000"))
    }

    func testNonFiniteLossStopsWithTheStep() throws {
        let runDirectory = try makeTemporaryDirectory(self)
        let error = try failure(["train", "--data-dir", try SharedData.mnistDirectory(), "--run-dir", runDirectory,
                                 "--optimizer", "sgd", "--lr", "1e30", "--max-steps", "50"])
        XCTAssertTrue(error.contains("non-finite"), error)
        XCTAssertTrue(error.contains("global step"), error)
    }

    func testConfigValuesThatAFloatCannotHoldAreRefused() throws {
        let folder = try makeTemporaryDirectory(self)
        let reference = try String(contentsOfFile: SharedData.packageRoot.path + "/configs/mnist.toml", encoding: .utf8)
        for (from, to, said) in [("epsilon = 1e-7", "epsilon = 1e-50", "optimizer.epsilon must be a positive number that a Float holds"),
                                 ("rho = 0.9", "rho = 0.999999999", "optimizer.rho must be in [0, 1) and below 1 as a Float"),
                                 ("units = 64", "units = 4611686018427387904", "model.layers[6].units must be at most"),
                                 ("classes = 10", "classes = 100000", "classes must be in 2...256")] {
            let path = folder + "/c.toml"
            try reference.replacingOccurrences(of: from, with: to).write(toFile: path, atomically: true, encoding: .utf8)
            let error = try failure(["summary", "--config", path])
            XCTAssertTrue(error.contains(said), error)
        }
    }

    /// Configs that trip the TOML library's internal assertions (found by tools/fuzz config): one
    /// line naming the file and exit status 1, not an abort with a backtrace.
    func testConfigsThatTripTheTOMLParsersAssertionsAreErrors() throws {
        let folder = try makeTemporaryDirectory(self)
        for (index, text) in ["[?o", "a = 1979-05-27T07:32:00Z\nb = 1979-05-27T0", "x = [1, 2,\n[ [ [\n"].enumerated() {
            let path = folder + "/fuzzed\(index).toml"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            let result = try runCommand(productBinary, ["summary", "--config", path])
            XCTAssertEqual(result.status, 1, result.error)
            XCTAssertFalse(result.crashed)
            XCTAssertTrue(result.error.hasPrefix("convnet-dist: error: \(path)"), result.error)
            XCTAssertEqual(result.error.split(separator: "\n").count, 1, result.error)
        }
    }

    /// Data sets with no samples end with an error naming the folder, not a crash or nan metrics.
    func testEmptyDataSetsAreErrors() throws {
        for (train, test, said) in [(0, 10, "the training set is empty"), (100, 0, "the test set is empty")] {
            let data = try makeSmallMNIST(self, trainCount: train, testCount: test)
            let error = try failure(["train", "--data-dir", data, "--run-dir", try makeTemporaryDirectory(self), "--max-steps", "2"])
            XCTAssertTrue(error.contains(said), error)
        }
    }
}
