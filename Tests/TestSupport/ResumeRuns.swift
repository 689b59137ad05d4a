import Foundation
import XCTest

/// The bytes of `RUN_DIR/model.safetensors`.
public func modelBytes(_ runDirectory: String) throws -> Data {
    try Data(contentsOf: URL(fileURLWithPath: runDirectory + "/model.safetensors"))
}

/// Trains `arguments` (a `train` command line without `--run-dir` and `--max-steps`) straight to
/// `steps`, and again stopped after `stopAt` and resumed to `steps` in a second folder; returns both
/// models' bytes, for a test to compare, and the resumed run's folder.
public func straightAndResumedModels(_ test: XCTestCase, _ arguments: [String], stopAt: Int, steps: Int,
                                     file: StaticString = #filePath, line: UInt = #line) throws -> (straight: Data, resumed: Data, resumedRun: String) {
    let straight = try makeTemporaryDirectory(test), split = try makeTemporaryDirectory(test)
    for run in [["--run-dir", straight, "--max-steps", "\(steps)"], ["--run-dir", split, "--max-steps", "\(stopAt)"],
                ["--run-dir", split, "--resume", "--max-steps", "\(steps)"]] {
        let result = try runCommand(productBinary, arguments + run, timeout: 300)
        XCTAssertEqual(result.status, 0, result.error, file: file, line: line)
    }
    return (try modelBytes(straight), try modelBytes(split), split)
}
