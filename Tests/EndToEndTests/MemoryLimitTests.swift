import Foundation
import Images
import TestSupport
import XCTest

/// Memory follows what is there, not what a flag or a config claims: buffers are sized by the
/// samples a rank can compute, and a run whose estimated peak does not fit is refused with the
/// figure and the limit, before it allocates. Each command runs under `ulimit -v`, so a build that
/// allocates by the claim fails here (SIGABRT in malloc) instead of taking the machine's memory.
final class MemoryLimitTests: XCTestCase {
    /// Virtual memory each command may map (KiB): far above what these runs need when sized by the data.
    private static let addressSpaceKiB = 6 << 20

    private func run(_ arguments: [String], addressSpaceKiB: Int = addressSpaceKiB) throws -> CommandResult {
        var environment = ProcessInfo.processInfo.environment
        environment["CONVNET_DATA_DIR"] = nil   // bench without --data-dir: synthetic images
        return try runCommand("/bin/bash", ["-c", "ulimit -v \(addressSpaceKiB); exec \"$0\" \"$@\"", productBinary] + arguments,
                              environment: environment)
    }

    private func refusal(_ arguments: [String]) throws -> String {
        let result = try run(arguments)
        XCTAssertNotEqual(result.status, 0, "expected a refusal for \(arguments)")
        XCTAssertFalse(result.crashed, "crashed: \(result.error.suffix(2000))")
        XCTAssertEqual(result.error.split(separator: "\n").count, 1, String(result.error.suffix(2000)))
        return result.error
    }

    /// A flag the argument parser refuses: its error (with the usage after it), without a crash.
    private func usageError(_ arguments: [String]) throws -> String {
        let result = try run(arguments)
        XCTAssertNotEqual(result.status, 0, "expected a refusal for \(arguments)")
        XCTAssertFalse(result.crashed, "crashed: \(result.error.suffix(2000))")
        return result.error
    }

    /// A config file of `layers` (TOML tables) on `inputShape`, then a softmax dense layer of `classes` units.
    private func config(inputShape: String, layers: String, extra: String = "", classes: Int = 2) throws -> String {
        let path = try makeTemporaryDirectory(self) + "/model.toml"
        try """
            \(extra)
            [model]
            input_shape = \(inputShape)
            classes = \(classes)

            \(layers)

            [[model.layers]]
            type = "dense"
            units = \(classes)
            activation = "softmax"
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// An image folder (train and test, two classes) of tiny 4x4 pictures, which training resizes to the model's input.
    private func tinyPictureFolder(perClass: Int) throws -> String {
        let folder = try makeTemporaryDirectory(self)
        for split in ["train", "test"] {
            for name in ["a", "b"] {
                let directory = "\(folder)/\(split)/\(name)"
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                for i in 0..<perClass {
                    let picture = Picture(width: 4, height: 4, channels: 3, pixels: (0..<48).map { UInt8(($0 * 37 + i * 11) % 256) })
                    try PNG.encode(picture).write(to: URL(fileURLWithPath: "\(directory)/\(i).png"))
                }
            }
        }
        return folder
    }

    /// The documented maximum batch on 300 samples: buffers for 300, and it trains in 2 GiB of
    /// address space (buffers for 1,048,576 samples took 4.6 GB with the reference model).
    func testTheMaximumBatchSizeOnFewSamplesTrains() throws {
        let data = try makeSmallMNIST(self, trainCount: 300, testCount: 10)
        let result = try run(["train", "--batch-size", "1048576", "--epochs", "1", "--threads", "2", "--quiet",
                              "--data-dir", data, "--run-dir", try makeTemporaryDirectory(self) + "/run"], addressSpaceKiB: 2 << 20)
        XCTAssertEqual(result.status, 0, String(result.error.suffix(2000)))
        XCTAssertFalse(result.crashed)
        XCTAssertTrue(result.output.contains("Epoch 1/1"), result.output)
    }

    /// A `same`-padded 4096x4096 kernel on 28x28 pictures runs direct on a zero-padded copy (65 MiB a
    /// sample), not through im2col rows (52 GB a sample): the estimate counts the copy and the limit
    /// refuses the run on it before the data is read.
    func testAHugeSamePaddedKernelIsRefusedWithTheEstimate() throws {
        let config = try config(inputShape: "[28, 28, 1]", layers: """
            [[model.layers]]
            type = "conv2d"
            filters = 8
            kernel_size = 4096
            padding = "same"

            [[model.layers]]
            type = "flatten"
            """, classes: 10)
        let error = try refusal(["train", "--config", config, "--threads", "1", "--data-dir", try makeSmallMNIST(self, trainCount: 64, testCount: 10),
                                 "--run-dir", try makeTemporaryDirectory(self) + "/run", "--max-memory", "1G"])
        XCTAssertTrue(error.contains("this run needs about "), error)
        // One sample's padded copy, (28 + 4095)^2 floats, reused for its padded input gradient.
        XCTAssertTrue(error.contains(" GiB (activations 65.0 MiB for chunks of 1 sample, "), error)
        XCTAssertTrue(error.contains("the limit is ") && error.contains("--max-memory"), error)
    }

    /// An input of 65536x65536x3 (51 GB a sample as floats): refused before a picture is read.
    func testAHugeInputShapeIsRefusedBeforeTheDataIsRead() throws {
        let config = try config(inputShape: "[65536, 65536, 3]", layers: "[[model.layers]]\ntype = \"global_avgpool2d\"",
                                extra: "[data]\nformat = \"folder\"\n")
        let run = try makeTemporaryDirectory(self) + "/run"
        let error = try refusal(["train", "--config", config, "--data-dir", try tinyPictureFolder(perClass: 2), "--run-dir", run])
        XCTAssertTrue(error.contains("this run needs about "), error)
        XCTAssertFalse(FileManager.default.fileExists(atPath: run), "the run folder was made before the check")
    }

    /// Tiny pictures resized to 1024x1024x3: the data and the activations follow the folder's
    /// pictures and the input shape, and the limit of --max-memory refuses them once counted.
    func testUpsampledPicturesCountAgainstMaxMemory() throws {
        let config = try config(inputShape: "[1024, 1024, 3]", layers: "[[model.layers]]\ntype = \"global_avgpool2d\"",
                                extra: "[data]\nformat = \"folder\"\n")
        let arguments = ["train", "--config", config, "--threads", "1", "--epochs", "1", "--quiet",
                         "--data-dir", try tinyPictureFolder(perClass: 8), "--run-dir", try makeTemporaryDirectory(self) + "/run"]
        // Past the count before decoding (one sample's activations and 32 pictures, 132 MiB), refused
        // once the run's chunks of 4 samples and the exchange buffers are counted too.
        let error = try refusal(arguments + ["--max-memory", "200M"])
        XCTAssertTrue(error.contains("the limit is 200.0 MiB (--max-memory 200M)"), error)
        XCTAssertTrue(error.contains("for chunks of 4 samples, data 192.0 MiB"), error)
        let fits = try run(arguments + ["--max-memory", "4G"])
        XCTAssertEqual(fits.status, 0, fits.error)
    }

    /// An image folder's pictures are counted before they are decoded at the model's size.
    func testPicturesAreCountedBeforeTheyAreDecoded() throws {
        let config = try config(inputShape: "[1024, 1024, 3]", layers: "[[model.layers]]\ntype = \"global_avgpool2d\"",
                                extra: "[data]\nformat = \"folder\"\n")
        let error = try refusal(["train", "--config", config, "--threads", "1", "--max-memory", "70M",
                                 "--data-dir", try tinyPictureFolder(perClass: 8), "--run-dir", try makeTemporaryDirectory(self) + "/run"])
        XCTAssertTrue(error.contains("for chunks of 1 sample, data 48.0 MiB"), error)   // 16 training pictures of 3 MiB
    }

    /// bench's synthetic set follows its input (a 256x256x3 input would have made 60,000 images, 11.8 GB).
    func testBenchSizesItsSyntheticImagesByTheInput() throws {
        let config = try config(inputShape: "[256, 256, 3]", layers: "[[model.layers]]\ntype = \"global_avgpool2d\"")
        let result = try run(["bench", "--config", config, "--steps", "2", "--threads", "1"])
        XCTAssertEqual(result.status, 0, String(result.error.suffix(2000)))
        XCTAssertFalse(result.crashed)
        XCTAssertTrue(result.output.contains("Training: 1 rank(s) x 1 thread(s), chunks of 4, global batch 64"), result.output)
    }

    func testBenchBoundsTheChunkSize() throws {
        XCTAssertTrue(try usageError(["bench", "--chunk-size", "100000000", "--steps", "1"]).contains("--chunk-size must be at most 1048576"))
        let error = try refusal(["bench", "--threads", "1", "--max-memory", "1M", "--steps", "1"])
        XCTAssertTrue(error.contains("this run needs about ") && error.contains("(--max-memory 1M)"), error)
    }

    /// Sizes from a config are multiplied with overflow checks: a refusal, not a trap.
    func testShapesTooLargeToCountAreRefused() throws {
        let config = try config(inputShape: "[65536, 65536, 65536]", layers: """
            [[model.layers]]
            type = "upsampling2d"
            size = 4096

            [[model.layers]]
            type = "global_avgpool2d"
            """)
        XCTAssertTrue(try refusal(["summary", "--config", config]).contains("larger than"))
    }

    /// evaluate checks its runner and the test set against the limit too.
    func testEvaluateChecksTheLimit() throws {
        let data = try makeSmallMNIST(self, trainCount: 64, testCount: 10), run = try makeTemporaryDirectory(self) + "/run"
        let trained = try self.run(["train", "--max-steps", "1", "--threads", "1", "--quiet", "--data-dir", data, "--run-dir", run])
        XCTAssertEqual(trained.status, 0, trained.error)
        let checkpoint = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: run + "/checkpoints")
            .first { $0.hasPrefix("step-") && $0.hasSuffix(".safetensors") })
        let error = try refusal(["evaluate", "--checkpoint", "\(run)/checkpoints/\(checkpoint)", "--data-dir", data, "--max-memory", "2M"])
        XCTAssertTrue(error.contains("this run needs about ") && error.contains("the limit is 2.0 MiB (--max-memory 2M): lower --threads"), error)
    }

    func testMaxMemoryTakesSizesAndRefusesOthers() throws {
        XCTAssertTrue(try usageError(["train", "--max-memory", "lots"]).contains("--max-memory takes a size such as 8G"))
        let data = try makeSmallMNIST(self, trainCount: 64, testCount: 10)
        let error = try refusal(["train", "--max-memory", "512K", "--data-dir", data, "--run-dir", try makeTemporaryDirectory(self) + "/run"])
        XCTAssertTrue(error.contains("the limit is 512.0 KiB (--max-memory 512K)"), error)
    }
}
