import Foundation
import TestSupport
import XCTest

/// `convnet-dist bench --json`: the report has every figure the speed work reads, per layer included,
/// with values that make sense (no timing targets here: speed is for `bench` itself to print).
final class BenchTests: XCTestCase {
    private func report(_ arguments: [String]) throws -> [String: Any] {
        let result = try runCommand(productBinary, ["bench", "--json", "--steps", "5", "--threads", "2"] + arguments)
        XCTAssertEqual(result.status, 0, result.error)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any], result.output)
    }

    func testReportHasThePerLayerSplitAndEachProductAgainstBLAS() throws {
        let r = try report([])
        for key in ["sgemmPeakGflops", "trainingSamplesPerSecond", "trainingGflops", "fractionOfSgemmPeak", "stepMilliseconds",
                    "evaluationSeconds", "evaluationGflops", "evaluationFractionOfPeak", "rowwiseKernelGflopsPerThread"] {
            XCTAssertGreaterThan(try XCTUnwrap(r[key] as? Double, key), 0, key)
        }
        XCTAssertEqual(r["evaluationImages"] as? Int, 10_000)
        XCTAssertEqual(r["epochSamples"] as? Int, 60_000, "MNIST's training set, loaded or synthetic")
        let layers = try XCTUnwrap(r["layers"] as? [[String: Any]])
        XCTAssertEqual(layers.compactMap { $0["layer"] as? String },
                       ["conv2d_1", "max_pooling2d_1", "conv2d_2", "max_pooling2d_2", "conv2d_3", "flatten_1", "dense_1", "dense_2"])
        // Products at one chunk's size (4 samples): rows = 4 x positions, columns = filters/units, depth = patch/inputs.
        let products = layers.map { $0["product"] as? String }
        XCTAssertEqual(products, ["2704x32x9", nil, "484x64x288", nil, "36x64x576", nil, "4x64x576", "4x10x64"])
        for layer in layers {
            let name = layer["layer"] as! String
            XCTAssertGreaterThan(layer["forwardMilliseconds"] as? Double ?? 0, 0, name)
            XCTAssertGreaterThan(layer["backwardMilliseconds"] as? Double ?? 0, 0, name)
            let hasProduct = layer["product"] as? String != nil
            for key in ["forwardGflops", "backwardGflops", "forwardFractionOfPeak", "productRowwiseGflops", "productBLASGflops"] {
                let value = try XCTUnwrap(layer[key] as? Double, "\(name) \(key)")
                if hasProduct { XCTAssertGreaterThan(value, 0, "\(name) \(key)") } else { XCTAssertEqual(value, 0, "\(name) \(key)") }
            }
        }
    }

    func testProductsFollowTheChunkSize() throws {
        let layers = try XCTUnwrap(try report(["--chunk-size", "3"])["layers"] as? [[String: Any]])
        XCTAssertEqual(layers[2]["product"] as? String, "363x64x288")
        XCTAssertEqual(layers[6]["product"] as? String, "3x64x576")
    }

    private var residualConfig: String { SharedData.packageRoot.appendingPathComponent("configs/resnet-fashion-mnist.toml").path }

    /// A batch-norm model runs each thread's whole share at once: the report says so, its products are
    /// at that size, and the memory estimate comes in parts.
    func testBatchNormGraphReportsTheChunkItRunsAndTheMemoryParts() throws {
        let r = try report(["--config", residualConfig, "--batch-size", "16", "--steps", "2"])
        XCTAssertEqual(r["chunkSize"] as? Int, 8)   // 16 samples over 2 threads
        let layers = try XCTUnwrap(r["layers"] as? [[String: Any]])
        let stem = try XCTUnwrap(layers.first { $0["layer"] as? String == "stem" })
        XCTAssertEqual(stem["product"] as? String, "\(8 * 28 * 28)x16x9")
        let parts = try ["estimatedLayerOutputBytes", "estimatedSavedBytes", "estimatedGradientBytes"].map { try XCTUnwrap(r[$0] as? Double, $0) }
        let workspace = try XCTUnwrap(r["estimatedWorkspaceBytes"] as? Double)
        XCTAssertGreaterThan(parts[0], 0)
        XCTAssertGreaterThan(parts[2], 0)
        XCTAssertLessThanOrEqual(parts.reduce(0, +), workspace)
        let total = try ["estimatedWorkspaceBytes", "estimatedDataBytes", "estimatedWeightBytes"].map { try XCTUnwrap(r[$0] as? Double, $0) }
        XCTAssertEqual(total.reduce(0, +), try XCTUnwrap(r["estimatedBytes"] as? Double), accuracy: 1)
    }

    /// The per-layer table's name column fits the longest name ("global_average_pooling2d_1").
    func testLongLayerNamesStayApartFromTheirFigures() throws {
        let result = try runCommand(productBinary, ["bench", "--config", residualConfig, "--batch-size", "16", "--steps", "2", "--threads", "2"])
        XCTAssertEqual(result.status, 0, result.error)
        let line = try XCTUnwrap(result.output.split(separator: "\n").first { $0.hasPrefix("  global_average_pooling2d_1") }, result.output)
        XCTAssertTrue(line.hasPrefix("  global_average_pooling2d_1  "), String(line))
    }

    /// The epoch the text report times is the benchmarked data set's: CIFAR-10's 50,000 for its
    /// config on synthetic pictures, less a validation split.
    func testEpochIsTheConfiguredDataSets() throws {
        var environment = ProcessInfo.processInfo.environment
        environment["CONVNET_DATA_DIR"] = nil
        let config = SharedData.packageRoot.appendingPathComponent("configs/resnet20-cifar10.toml").path
        let arguments = ["bench", "--config", config, "--batch-size", "8", "--steps", "1", "--threads", "2"]
        let text = try runCommand(productBinary, arguments, environment: environment)
        XCTAssertEqual(text.status, 0, text.error)
        XCTAssertTrue(text.output.contains("epoch of 50,000 ≈ "), text.output)
        let json = try runCommand(productBinary, arguments + ["--json", "--validation-split", "0.1"], environment: environment)
        XCTAssertEqual(json.status, 0, json.error)
        let r = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any], json.output)
        XCTAssertEqual(r["epochSamples"] as? Int, 45_000)
    }
}
