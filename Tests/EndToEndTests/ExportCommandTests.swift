import Foundation
import TestSupport
import XCTest

/// `convnet-dist export`: what it writes, and that bad input is one line, a non-zero exit and no
/// file (or the old file untouched). The numeric check of the exported models against `evaluate`
/// (onnxruntime, Keras) is Tests/python/test_model_export.py.
final class ExportCommandTests: XCTestCase {
    /// A checkpoint of the reference model after two steps on a few real MNIST images.
    private func checkpoint() throws -> String {
        let data = try makeSmallMNIST(self, trainCount: 256, testCount: 64)
        let run = try makeTemporaryDirectory(self)
        let result = try runCommand(productBinary, ["train", "--threads", "1", "--data-dir", data, "--run-dir", run,
                                                    "--max-steps", "2", "--batch-size", "32", "--quiet"])
        XCTAssertEqual(result.status, 0, result.error)
        let folder = run + "/checkpoints"
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".safetensors") }.sorted()
        return folder + "/" + (try XCTUnwrap(files.last, "no checkpoint in \(folder)"))
    }

    private func failure(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let result = try runCommand(productBinary, ["export"] + arguments)
        XCTAssertNotEqual(result.status, 0, "expected failure for \(arguments)", file: file, line: line)
        XCTAssertFalse(result.crashed, "ended by signal \(result.status)", file: file, line: line)
        XCTAssertFalse(result.error.contains("Fatal error"), "a Swift trap: \(result.error)", file: file, line: line)
        return result.error
    }

    func testWritesAnONNXModelAndAKerasScript() throws {
        let checkpoint = try checkpoint(), folder = try makeTemporaryDirectory(self)
        let onnx = try runCommand(productBinary, ["export", "--checkpoint", checkpoint, "--format", "onnx", "--output", folder + "/model.onnx"])
        XCTAssertEqual(onnx.status, 0, onnx.error)
        XCTAssertTrue(onnx.output.contains("input \"input\" [N, 28, 28, 1], output \"output\" [N, 10]"), onnx.output)
        let model = try Data(contentsOf: URL(fileURLWithPath: folder + "/model.onnx"))
        XCTAssertGreaterThan(model.count, 34_826 * 4, "the weights alone are 34,826 floats")
        for text in ["convnet-dist", "conv2d_1.kernel", "dense_1.bias", "Transpose", "Conv", "MaxPool", "Flatten", "Gemm", "Softmax"] {
            XCTAssertNotNil(model.range(of: Data(text.utf8)), "no \(text) in the ONNX file")
        }
        XCTAssertNil(model.range(of: Data("dropout".utf8)), "dropout is the identity in inference and needs no node")

        let script = try runCommand(productBinary, ["export", "--checkpoint", checkpoint, "--format", "keras-script",
                                                    "--output", folder + "/load_model.py"])
        XCTAssertEqual(script.status, 0, script.error)
        let text = try String(contentsOfFile: folder + "/load_model.py", encoding: .utf8)
        XCTAssertTrue(text.contains("keras.layers.Conv2D(filters=32, kernel_size=3, activation=\"relu\", name=\"conv2d_1\")"), text)
        XCTAssertTrue(text.contains("name=\"dense_1\""), text)
        XCTAssertTrue(text.contains(checkpoint), "the script should default to the checkpoint it came from")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasPrefix(".") }
        XCTAssertEqual(leftovers, [], "temporary files left behind")
    }

    func testUnknownFormat() throws {
        let folder = try makeTemporaryDirectory(self)
        let error = try failure(["--checkpoint", "x.safetensors", "--format", "tflite", "--output", folder + "/m"])
        XCTAssertTrue(error.contains("unknown format \"tflite\" (expected one of onnx, keras-script)"), error)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "/m"))
    }

    func testMissingOrBrokenCheckpointWritesNothing() throws {
        let folder = try makeTemporaryDirectory(self)
        let output = folder + "/model.onnx"
        var error = try failure(["--checkpoint", folder + "/missing.safetensors", "--format", "onnx", "--output", output])
        XCTAssertTrue(error.contains("missing.safetensors"), error)
        XCTAssertEqual(error.split(separator: "\n").count, 1, error)
        XCTAssertFalse(FileManager.default.fileExists(atPath: output))

        // An older export stays as it was when the new one fails.
        try Data("old".utf8).write(to: URL(fileURLWithPath: output))
        try Data("not a safetensors file at all".utf8).write(to: URL(fileURLWithPath: folder + "/broken.safetensors"))
        error = try failure(["--checkpoint", folder + "/broken.safetensors", "--format", "onnx", "--output", output])
        XCTAssertEqual(error.split(separator: "\n").count, 1, error)
        XCTAssertEqual(try String(contentsOfFile: output, encoding: .utf8), "old")
    }

    func testUnwritableOutput() throws {
        let checkpoint = try checkpoint(), folder = try makeTemporaryDirectory(self)
        var error = try failure(["--checkpoint", checkpoint, "--format", "onnx", "--output", "/nonexistent/folder/model.onnx"])
        XCTAssertTrue(error.contains("cannot write /nonexistent/folder/model.onnx: folder /nonexistent/folder does not exist"), error)
        XCTAssertEqual(error.split(separator: "\n").count, 1, error)
        error = try failure(["--checkpoint", checkpoint, "--format", "keras-script", "--output", folder])
        XCTAssertTrue(error.contains("--output \(folder) is a folder"), error)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), [])
    }

    /// An output never replaces its input, follows a link or replaces what is not a regular file
    /// (each of these used to be overwritten with exit 0).
    func testOutputNeverReplacesTheCheckpointALinkOrASpecialFile() throws {
        let checkpoint = try checkpoint(), folder = try makeTemporaryDirectory(self)
        let before = try Data(contentsOf: URL(fileURLWithPath: checkpoint))
        var error = try failure(["--checkpoint", checkpoint, "--format", "onnx", "--output", checkpoint])
        XCTAssertTrue(error.contains("is the checkpoint being exported"), error)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: checkpoint)), before)
        try FileManager.default.createSymbolicLink(atPath: folder + "/link.onnx", withDestinationPath: checkpoint)
        error = try failure(["--checkpoint", checkpoint, "--format", "onnx", "--output", folder + "/link.onnx"])
        XCTAssertTrue(error.contains("is a symbolic link"), error)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: checkpoint)), before)
        XCTAssertEqual(mkfifo(folder + "/fifo", 0o600), 0)
        error = try failure(["--checkpoint", checkpoint, "--format", "onnx", "--output", folder + "/fifo"])
        XCTAssertTrue(error.contains("is not a regular file"), error)
        error = try failure(["--checkpoint", checkpoint, "--format", "onnx", "--output", ""])
        XCTAssertTrue(error.contains("--output is empty"), error)
        XCTAssertEqual(error.split(separator: "\n").count, 1, error)
    }
}
