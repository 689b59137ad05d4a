import Foundation
import TestSupport
import XCTest

/// A residual block with a stride-2 3x3 convolution and a 1x1 stride-2 projection on the direct
/// route (the stem on 3 channels too: it needs no input gradient) trains the same model.safetensors
/// bytes as with every convolution on the im2col route (`CONVNET_IM2COL=1`), on 1 and 2 threads;
/// `bench` shows that the switch really moved every convolution.
final class StridedConvolutionTrainingTests: XCTestCase {
    private let config = """
        [data]
        dataset = "cifar10"

        [model]
        input_shape = [32, 32, 3]
        classes = 10

        [[model.layers]]
        type = "conv2d"
        name = "stem"
        filters = 16
        kernel_size = 3
        padding = "same"
        activation = "relu"

        [[model.layers]]
        type = "conv2d"
        name = "down"
        filters = 32
        kernel_size = 3
        strides = 2
        padding = "same"
        use_bias = false

        [[model.layers]]
        type = "batchnorm"

        [[model.layers]]
        type = "activation"
        activation = "relu"

        [[model.layers]]
        type = "conv2d"
        filters = 32
        kernel_size = 3
        padding = "same"
        name = "residual"

        [[model.layers]]
        type = "conv2d"
        name = "projection"
        filters = 32
        kernel_size = 1
        strides = 2
        padding = "same"
        inputs = ["stem"]

        [[model.layers]]
        type = "add"
        inputs = ["residual", "projection"]

        [[model.layers]]
        type = "activation"
        activation = "relu"

        [[model.layers]]
        type = "global_avgpool2d"

        [[model.layers]]
        type = "dense"
        units = 10
        activation = "softmax"

        [optimizer]
        name = "sgd"
        learning_rate = 0.05
        momentum = 0.9

        [training]
        epochs = 2
        batch_size = 8
        """

    func testDirectAndIm2colRoutesTrainTheSameBytes() throws {
        let data = try makeTemporaryDirectory(self), work = try makeTemporaryDirectory(self)
        try CIFARWriter.writeSet(directory: data, training: CIFARWriter.pictures(count: 40),
                                 test: CIFARWriter.pictures(count: 8, seed: 3), perFile: [8, 8, 8, 8, 8])
        let configPath = work + "/resnet.toml"
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        func train(_ name: String, threads: Int, im2col: Bool) throws -> Data {
            var environment = ProcessInfo.processInfo.environment
            environment["CONVNET_IM2COL"] = im2col ? "1" : nil
            let run = work + "/" + name
            let result = try runCommand(productBinary, ["train", "--quiet", "--threads", "\(threads)", "--config", configPath,
                                                        "--data-dir", data, "--run-dir", run], environment: environment, timeout: 300)
            XCTAssertEqual(result.status, 0, "\(name): \(result.error)")
            return try Data(contentsOf: URL(fileURLWithPath: run + "/model.safetensors"))
        }
        func routes(im2col: Bool) throws -> [String: String] {
            var environment = ProcessInfo.processInfo.environment
            environment["CONVNET_IM2COL"] = im2col ? "1" : nil
            let result = try runCommand(productBinary, ["bench", "--json", "--steps", "1", "--threads", "1", "--config", configPath,
                                                        "--data-dir", data], environment: environment, timeout: 300)
            XCTAssertEqual(result.status, 0, result.error)
            let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any], result.output)
            let layers = try XCTUnwrap(report["layers"] as? [[String: Any]])
            return layers.reduce(into: [:]) { routes, layer in routes[layer["layer"] as! String] = layer["route"] as? String }
        }
        let convolutions = ["stem", "down", "residual", "projection"]
        XCTAssertEqual(try routes(im2col: false), Dictionary(uniqueKeysWithValues: convolutions.map { ($0, "direct") }))
        XCTAssertEqual(try routes(im2col: true), Dictionary(uniqueKeysWithValues: convolutions.map { ($0, "im2col") }))
        let im2col = try train("im2col", threads: 1, im2col: true)
        XCTAssertEqual(try train("direct", threads: 1, im2col: false), im2col, "1 thread")
        XCTAssertEqual(try train("direct-2", threads: 2, im2col: false), im2col, "2 threads")
    }
}
