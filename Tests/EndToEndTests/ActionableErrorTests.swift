import Foundation
import TestSupport
import XCTest

/// Errors a person can act on: they say what is wrong with the user's path or flag and what to do,
/// in words (never Foundation's codes), on one line; and the help's own examples work.
final class ActionableErrorTests: XCTestCase {
    private func failure(_ arguments: [String], environment: [String: String]? = nil, timeout: Double = 120,
                         file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let result = try runCommand(productBinary, arguments, environment: environment, timeout: timeout)
        XCTAssertNotEqual(result.status, 0, "expected failure for \(arguments)", file: file, line: line)
        XCTAssertFalse(result.crashed, "ended by signal (a hang or a crash): \(result.error)", file: file, line: line)
        XCTAssertEqual(result.error.split(separator: "\n").count, 1, "one line: \(result.error)", file: file, line: line)
        XCTAssertFalse(result.error.contains("Domain"), "a Foundation code: \(result.error)", file: file, line: line)
        return result.error
    }

    /// A flag's error: the argument parser's first line, followed by its usage lines.
    private func flagError(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let result = try runCommand(productBinary, arguments)
        XCTAssertEqual(result.status, 64, "a usage error for \(arguments): \(result.error)", file: file, line: line)
        return String(result.error.split(separator: "\n").first ?? "")
    }

    /// `checkpoints/latest` that is a folder or a FIFO is named as such (a FIFO is never opened: it would block).
    func testALatestThatIsNotAFileIsNamedAsSuch() throws {
        for (make, said) in [({ (path: String) in try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false) }, "is a folder"),
                             ({ (path: String) in XCTAssertEqual(mkfifo(path, 0o644), 0) }, "is not a regular file")] {
            let run = try makeTemporaryDirectory(self)
            try FileManager.default.createDirectory(atPath: run + "/checkpoints", withIntermediateDirectories: false)
            try make(run + "/checkpoints/latest")
            let error = try failure(["train", "--run-dir", run, "--resume"], timeout: 30)
            XCTAssertTrue(error.contains("\(run)/checkpoints/latest \(said)"), error)
        }
    }

    /// Negative numbers reach the flag's own check instead of "Missing value for --keep".
    func testNegativeNumbersAreCheckedAsNumbers() throws {
        for (arguments, said) in [(["train", "--keep", "-1"], "--keep must be at least 1, got -1"),
                                  (["train", "--threads", "-2"], "--threads must be at least 1, got -2"),
                                  (["train", "--epochs", "-1"], "--epochs must be at least 1, got -1"),
                                  (["train", "--max-steps", "-5"], "--max-steps must be at least 1, got -5"),
                                  (["train", "--lr", "-1"], "--lr must be a positive number"),
                                  (["evaluate", "--checkpoint", "c", "--outputs", "-1"], "--outputs must not be negative, got -1")] {
            let error = try flagError(arguments)
            XCTAssertTrue(error.contains(said), "\(arguments): \(error)")
        }
    }

    func testEmptyPathsAreErrors() throws {
        XCTAssertTrue(try flagError(["train", "--resume", ""]).contains("--resume \"\" names no checkpoint"))
        XCTAssertTrue(try flagError(["train", "--run-dir", ""]).contains("--run-dir is empty"))
        XCTAssertTrue(try flagError(["train", "--data-dir", ""]).contains("--data-dir is empty"))
    }

    /// `CONVNET_DATA_DIR=""` is no setting: the default folder is named, not "" (run in a scratch
    /// folder, where data/mnist does not exist).
    func testAnEmptyDataDirectoryVariableIsUnset() throws {
        let scratch = try makeTemporaryDirectory(self)
        let result = try runCommand("/bin/sh", ["-c", "cd \"$1\" && CONVNET_DATA_DIR= exec \"$2\" train --run-dir r --max-steps 1",
                                                "sh", scratch, productBinary])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.error.contains("data/mnist/train-images-idx3-ubyte"), result.error)
    }

    /// `evaluate --checkpoint RUN/model.safetensors` (the help's example) evaluates the final weights
    /// with the run's config.toml; `export` takes the file too.
    func testARunFoldersModelFileIsEvaluatedAndExported() throws {
        let data = try makeSmallMNIST(self, trainCount: 640, testCount: 50), run = try makeTemporaryDirectory(self)
        let trained = try runCommand(productBinary, ["train", "--threads", "1", "--quiet", "--data-dir", data, "--run-dir", run,
                                                     "--max-steps", "3"], timeout: 120)
        XCTAssertEqual(trained.status, 0, trained.error)
        let weights = try runCommand(productBinary, ["evaluate", "--checkpoint", run + "/model.safetensors", "--data-dir", data])
        XCTAssertEqual(weights.status, 0, weights.error)
        XCTAssertTrue(weights.output.contains("final weights - test_loss"), weights.output)
        let checkpoint = try runCommand(productBinary, ["evaluate", "--checkpoint", run + "/checkpoints/step-00000003.safetensors",
                                                        "--data-dir", data])
        XCTAssertEqual(checkpoint.status, 0, checkpoint.error)
        func figures(_ text: String) -> Substring? { text.range(of: "test_loss").map { text[$0.lowerBound...] } }
        XCTAssertEqual(figures(weights.output), figures(checkpoint.output), "the same weights, the same figures")
        let script = try makeTemporaryDirectory(self) + "/load_model.py"
        let exported = try runCommand(productBinary, ["export", "--checkpoint", run + "/model.safetensors", "--format", "keras-script",
                                                      "--output", script])
        XCTAssertEqual(exported.status, 0, exported.error)
        // Plain weights without a config beside them: what to pass instead.
        let lone = try makeTemporaryDirectory(self) + "/model.safetensors"
        try FileManager.default.copyItem(atPath: run + "/model.safetensors", toPath: lone)
        let error = try failure(["evaluate", "--checkpoint", lone, "--data-dir", data])
        XCTAssertTrue(error.contains("holds plain weights, not a checkpoint") && error.contains("give a checkpoint"), error)
    }

    /// An export that cannot write names the user's --output, not the temporary file beside it.
    func testExportErrorsNameTheOutput() throws {
        let data = try makeSmallMNIST(self, trainCount: 640, testCount: 50), run = try makeTemporaryDirectory(self)
        XCTAssertEqual(try runCommand(productBinary, ["train", "--threads", "1", "--quiet", "--data-dir", data, "--run-dir", run,
                                                      "--max-steps", "1"], timeout: 120).status, 0)
        let error = try failure(["export", "--checkpoint", run + "/checkpoints/step-00000001.safetensors", "--format", "onnx",
                                 "--output", "/proc/model.onnx"])
        XCTAssertTrue(error.contains("cannot write /proc/model.onnx"), error)
        XCTAssertFalse(error.contains(".tmp-"), error)
    }

    /// An error that quotes a huge input is cut to a readable length, saying so.
    func testAnErrorQuotingAHugeInputIsCut() throws {
        let error = try failure(["train", "--optimizer", String(repeating: "x", count: 20_000), "--run-dir", try makeTemporaryDirectory(self)])
        XCTAssertTrue(error.contains("unknown optimizer") && error.contains("more characters)"), String(error.prefix(300)))
        XCTAssertLessThan(error.count, 1200)
    }

    /// A server that redirects in a loop: said in words, not "network error -1007".
    func testARedirectLoopIsSaidInWords() throws {
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["python3", "-c", """
            import http.server, sys, threading, time
            class H(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    self.send_response(302); self.send_header("Location", self.path); self.send_header("Content-Length", "0"); self.end_headers()
                def log_message(self, *a): pass
            s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
            print(s.server_address[1], flush=True)
            threading.Thread(target=s.serve_forever, daemon=True).start()
            time.sleep(120)
            """]
        let output = Pipe()
        server.standardOutput = output
        try server.run()
        defer { server.terminate(); server.waitUntilExit() }
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let port = try XCTUnwrap(Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)))
        let error = try failure(["download", "--data-dir", try makeTemporaryDirectory(self), "--timeout", "10",
                                 "--mirror", "http://127.0.0.1:\(port)/loop/"], timeout: 60)
        XCTAssertTrue(error.contains("too many redirects"), error)
        XCTAssertFalse(error.contains("-1007"), error)
    }
}
