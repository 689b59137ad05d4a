import Foundation
import TestSupport
import XCTest

/// The route switches (`CONVNET_IM2COL`, `CONVNET_FUSED_PASSES`, `CONVNET_BUCKET_PARAMETERS`) refuse a
/// value they cannot take with one line naming it, and a non-zero exit, alone and on any rank under
/// mpirun, instead of silently running the default; the values they take still run.
final class EnvironmentSwitchTests: XCTestCase {
    private let refused: [(String, String, String)] = [
        ("CONVNET_IM2COL", "yes", "expected 0 or 1"), ("CONVNET_IM2COL", "2", "expected 0 or 1"),
        ("CONVNET_FUSED_PASSES", "off", "expected 0 or 1"), ("CONVNET_FUSED_PASSES", "false", "expected 0 or 1"),
        ("CONVNET_BUCKET_PARAMETERS", "0", "expected a whole number of parameters, 1 or more"),
        ("CONVNET_BUCKET_PARAMETERS", "64k", "expected a whole number of parameters, 1 or more"),
    ]

    func testUnknownValuesAreRefused() throws {
        for (name, value, expected) in refused {
            var environment = ProcessInfo.processInfo.environment
            environment[name] = value
            let result = try runCommand(productBinary, ["summary"], environment: environment, timeout: 60)
            XCTAssertEqual(result.status, 2, "\(name)=\(value): \(result.output)")
            XCTAssertEqual(result.error, "convnet-dist: error: \(name)=\(value): \(expected); unset it for the default\n")
        }
    }

    func testAcceptedValuesRun() throws {
        for (name, value) in [("CONVNET_IM2COL", "1"), ("CONVNET_IM2COL", "0"), ("CONVNET_FUSED_PASSES", "0"),
                              ("CONVNET_FUSED_PASSES", ""), ("CONVNET_BUCKET_PARAMETERS", "100")] {
            var environment = ProcessInfo.processInfo.environment
            environment[name] = value
            let result = try runCommand(productBinary, ["summary"], environment: environment, timeout: 60)
            XCTAssertEqual(result.status, 0, "\(name)=\(value): \(result.error)")
        }
    }

    /// Only rank 1 gets the bad value: it must refuse on its own, and rank 0, already training (in
    /// MPI_Init or its first collective), must not wait for it forever.
    func testOneRankRefusesAndEndsTheJob() throws {
        let data = try makeSmallMNIST(self, trainCount: 256, testCount: 64)
        let run = try makeTemporaryDirectory(self)
        let train = [productBinary, "train", "--data-dir", data, "--run-dir", run, "--epochs", "1", "--threads", "1", "--quiet"]
        let arguments = ["--oversubscribe", "--bind-to", "none", "-np", "1"] + train
            + [":", "-np", "1", "/usr/bin/env", "CONVNET_IM2COL=true"] + train
        let result = try runCommand(try mpirunPath(), arguments, environment: mpiEnvironment, timeout: 120)
        XCTAssertFalse(result.crashed, "ended by the timeout: \(result.error)")
        XCTAssertNotEqual(result.status, 0)
        let lines = result.error.split(separator: "\n").filter { $0.hasPrefix("convnet-dist: error: ") }
        XCTAssertEqual(lines, ["convnet-dist: error: CONVNET_IM2COL=true: expected 0 or 1; unset it for the default"], result.error)
    }
}
