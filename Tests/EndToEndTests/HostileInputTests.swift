import ConvNetConfig
import ConvNetCore
import Foundation
import Images
import TestSupport
import Training
import XCTest

/// Files that parse but must not be used: a checkpoint with NaN weights, a model whose input the
/// command cannot fill. Each is one line on standard error and a non-zero exit.
final class HostileInputTests: XCTestCase {
    /// A valid checkpoint (checksum and all) of `config` with its weights from `fill`.
    private func checkpoint(_ config: ExperimentConfig, fill: (Int) -> Float) throws -> String {
        let model = try Sequential(config.model)
        let parameters = (0..<model.parameterCount).map(fill)
        let checkpoint = Checkpoint(config: config, position: .start, worldSize: 1, parameters: parameters,
                                    state: [Float](repeating: 1, count: model.stateCount), optimizerIterations: 0,
                                    optimizerState: ["rms": [Float](repeating: 0, count: model.parameterCount)])
        let path = try makeTemporaryDirectory(self) + "/c.safetensors"
        try checkpoint.encoded(model: model).write(to: URL(fileURLWithPath: path))
        return path
    }

    private func failure(_ arguments: [String]) throws -> String {
        let result = try runCommand(productBinary, arguments)
        XCTAssertNotEqual(result.status, 0, "expected failure for \(arguments)")
        XCTAssertFalse(result.crashed, "crashed: \(result.error)")
        XCTAssertEqual(result.error.split(separator: "\n").count, 1, result.error)
        return result.error
    }

    func testNonFiniteWeightsAreRefusedByEvaluatePredictAndResume() throws {
        let path = try checkpoint(.reference) { $0 == 1234 ? .nan : 0.01 }
        let data = try makeSmallMNIST(self, trainCount: 64, testCount: 10)
        for arguments in [["evaluate", "--checkpoint", path, "--data-dir", data],
                          ["predict", "--checkpoint", path, "--test-index", "0", "--data-dir", data],
                          ["train", "--resume", path, "--data-dir", data, "--run-dir", try makeTemporaryDirectory(self)]] {
            let error = try failure(arguments)
            XCTAssertTrue(error.contains("conv2d_2.kernel holds a non-finite value (nan at index 914)"), error)
        }
    }

    /// `predict` prepares square digit pictures of the model's height; a model whose input is not
    /// square is an error, not a write past the end of its input buffer.
    func testPredictRefusesAModelOfAnotherInputSize() throws {
        var config = ExperimentConfig.reference
        config.model.inputShape = TensorShape([28, 20, 1])
        let path = try checkpoint(config) { _ in 0.01 }
        let picture = try makeTemporaryDirectory(self) + "/digit.pgm"
        try PGM.encode(GreyImage(width: 28, height: 28, pixels: [UInt8](repeating: 9, count: 784)))
            .write(to: URL(fileURLWithPath: picture))
        let error = try failure(["predict", "--checkpoint", path, picture])
        XCTAssertTrue(error.contains("the model takes 28x20x1 inputs; predict prepares 28x28x1 digit pictures"), error)
    }

    /// Crafted pictures: errors, never a trap or a huge allocation.
    func testCraftedPicturesAreRefused() {
        func message(_ body: () throws -> GreyImage) -> String {
            do { _ = try body(); return "accepted" } catch { return "\(error)" }
        }
        var png = [UInt8](PNG.encode(GreyImage(width: 2, height: 2, pixels: [0, 1, 2, 3])))
        png[11] = 5   // IHDR length 13 -> 5: libpng must refuse it, not read its fields from the next chunk
        XCTAssertTrue(message { try PNG.decode(Data(png), name: "x.png") }.hasPrefix("x.png: corrupt PNG ("))
        XCTAssertTrue(message { try PNG.decode(FormatWriters.pngClaiming(width: 16384, height: 16384), name: "x.png") }
            .contains("the PNG header claims 16384x16384 pixels"))
        XCTAssertTrue(message { try PGM.decode(Data("P2 2 1 255 -5 3".utf8), name: "x.pgm") }.contains("bad PGM sample 0: not a number in 0...255"))
        XCTAssertTrue(message { try PGM.decode(Data("P2 2 1 255 1 4611686018427387904".utf8), name: "x.pgm") }.contains("bad PGM sample 1"))
        XCTAssertEqual(try? PGM.decode(Data("P5 2 1 100\n".utf8) + Data([200, 50]), name: "x.pgm").pixels, [255, 127])
    }

    /// A launcher script that installs and builds, then `exec`s the binary, does not count as startup.
    func testStartupIsCountedFromTheProgramNotTheLauncher() throws {
        let data = try makeSmallMNIST(self, trainCount: 64, testCount: 10)
        let result = try runCommand("/bin/bash", ["-c", "sleep 3; exec \"$0\" train --threads 1 --max-steps 1 --data-dir \"$1\" --run-dir \"$2\"",
                                                  productBinary, data, try makeTemporaryDirectory(self)])
        XCTAssertEqual(result.status, 0, result.error)
        let line = try XCTUnwrap(result.output.split(separator: "\n").first { $0.hasPrefix("Startup:") }, result.output)
        let seconds = try XCTUnwrap(Double(line.split(separator: " ")[6]), String(line))
        XCTAssertLessThan(seconds, 2.5, String(line))
    }

    /// Foundation's file errors reach the user as the file and the system's reason, not as
    /// "NSCocoaErrorDomain error 512".
    func testFileErrorsAreInPlainWords() throws {
        do {
            try "x".write(toFile: "/dev/full", atomically: false, encoding: .utf8)
            XCTFail("writing to /dev/full succeeded")
        } catch {
            let text = plainDescription(error)
            XCTAssertTrue(text.hasPrefix("/dev/full: ") && (text.contains("space") || text.contains("No space")), text)
            XCTAssertFalse(text.contains("NSCocoaErrorDomain"), text)
        }
        let missing = try makeTemporaryDirectory(self) + "/no/such/folder/file"
        do {
            try "x".write(toFile: missing, atomically: true, encoding: .utf8)
            XCTFail("writing into a missing folder succeeded")
        } catch {
            XCTAssertFalse(plainDescription(error).contains("NSCocoaErrorDomain"), plainDescription(error))
        }
    }
}
