import ConvNetConfig
import ConvNetCore
import TestSupport
import XCTest

/// Graph models in the config (`name`, `inputs`, `add`, `concatenate`): what they parse to, that a
/// chain stays a chain, the summary's "Connected to" column, and every error naming layer and key.
final class GraphConfigTests: XCTestCase {
    /// A config of `[model]` with these `[[model.layers]]` bodies, for a [6, 6, 2] input and 3 classes.
    private func config(_ layers: [String]) -> String {
        "[model]\ninput_shape = [6, 6, 2]\nclasses = 3\n" + layers.map { "[[model.layers]]\n\($0)\n" }.joined()
    }

    /// a: conv; b: conv reading a; sum: b + the model input; then the classifier.
    private func residual(a: String = "", b: String = "", sum: String = "inputs = [\"b\", \"input\"]", bFilters: Int = 2) -> [String] {
        ["type = \"conv2d\"\nname = \"a\"\nfilters = 2\nkernel_size = 3\npadding = \"same\"\n" + a,
         "type = \"conv2d\"\nname = \"b\"\nfilters = \(bFilters)\nkernel_size = 3\npadding = \"same\"\n" + b,
         "type = \"add\"\nname = \"sum\"\n" + sum,
         "type = \"flatten\"", "type = \"dense\"\nunits = 3\nactivation = \"softmax\""]
    }

    private func error(_ layers: [String]) -> String {
        do {
            _ = try ExperimentConfig.parse(toml: config(layers))
            return "accepted"
        } catch { return "\(error)" }
    }

    func testAResidualConfigParsesToAGraphAndRoundTrips() throws {
        let parsed = try ExperimentConfig.parse(toml: config(residual()))
        let model = try Sequential(parsed.model)
        XCTAssertFalse(model.graph.isChain)
        XCTAssertEqual(model.layerNames, ["a", "b", "sum", "flatten_1", "dense_1"])
        XCTAssertEqual(model.graph.inputs, [[-1], [0], [1, -1], [2], [3]])
        XCTAssertEqual(model.graph.consumers, [[1], [2], [3], [4], []])
        XCTAssertEqual(model.parameterLayout.views.map(\.name), ["a.kernel", "a.bias", "b.kernel", "b.bias", "dense_1.kernel", "dense_1.bias"])
        XCTAssertEqual(try ExperimentConfig.parse(toml: parsed.tomlText), parsed)
        XCTAssertTrue(parsed.tomlText.contains("type = \"add\"\nname = \"sum\"\ninputs = [\"b\", \"input\"]"), parsed.tomlText)
    }

    func testChainsStayChains() throws {
        XCTAssertFalse(ExperimentConfig.reference.tomlText.contains("\"\nname ="))
        XCTAssertFalse(ExperimentConfig.reference.tomlText.contains("inputs ="))
        // The default inputs spelt out, and names given, are still a chain.
        let spelt = config(["type = \"flatten\"\nname = \"f\"\ninputs = [\"input\"]",
                            "type = \"dense\"\nunits = 3\nactivation = \"softmax\"\ninputs = [\"f\"]"])
        let model = try Sequential(try ExperimentConfig.parse(toml: spelt).model)
        XCTAssertTrue(model.graph.isChain)
        XCTAssertEqual(model.layerNames, ["f", "dense_1"])
        XCTAssertTrue(try Sequential(.kerasMNIST).graph.isChain)
        XCTAssertTrue(try Sequential(.kerasMNIST).summary().hasPrefix("Model: \"sequential\""))
        XCTAssertFalse(try Sequential(.kerasMNIST).summary().contains("Connected to"))
    }

    func testConcatenateJoinsChannels() throws {
        let layers = ["type = \"conv2d\"\nname = \"a\"\nfilters = 3\nkernel_size = 3\npadding = \"same\"",
                      "type = \"concatenate\"\ninputs = [\"a\", \"input\"]", "type = \"global_avgpool2d\"",
                      "type = \"dense\"\nunits = 3\nactivation = \"softmax\""]
        let model = try Sequential(try ExperimentConfig.parse(toml: config(layers)).model)
        XCTAssertEqual(model.layers[1].outputShape.dimensions, [6, 6, 5])
        XCTAssertEqual(model.layerNames[1], "concatenate_1")
    }

    func testGraphSummaryHasKerasFunctionalColumns() throws {
        let summary = try Sequential(try ExperimentConfig.parse(toml: config(residual())).model).summary()
        let lines = summary.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines[0], "Model: \"functional\"")
        XCTAssertTrue(lines[2].hasSuffix("Param #  Connected to"), summary)
        XCTAssertTrue(lines[4].hasPrefix("input (InputLayer)") && lines[4].hasSuffix(" 0  -"), summary)
        let sum = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("sum (Add)") }, summary)
        XCTAssertTrue(lines[sum].hasSuffix("0  b[0][0],"), summary)
        XCTAssertEqual(lines[sum + 1].trimmingCharacters(in: .whitespaces), "input[0][0]", summary)
        XCTAssertEqual(lines[sum + 1].firstIndex(of: "i")?.utf16Offset(in: lines[sum + 1]),
                       lines[sum].firstIndex(of: "[")!.utf16Offset(in: lines[sum]) - 1, "the inputs line up:\n\(summary)")
        XCTAssertTrue(summary.contains(" Total params: 295 "), summary)
    }

    func testErrorsNameTheLayerAndTheKey() {
        XCTAssertEqual(error(residual(sum: "inputs = [\"b\", \"c\"]")),
                       "model: model.layers[2].inputs: no layer is named \"c\" (the layers above it: input, a, b)")
        let long = (0..<12).map { "type = \"dropout\"\nrate = 0.1\nname = \"d\($0)\"" } + ["type = \"flatten\"\ninputs = [\"e\"]",
                                                                                           "type = \"dense\"\nunits = 3"]
        XCTAssertEqual(error(long), "model: model.layers[12].inputs: no layer is named \"e\" (the layers above it: input, ..., d4, d5, d6, d7, d8, d9, d10, d11)")
        XCTAssertEqual(error(residual(a: "inputs = [\"b\"]")), "model: model.layers[0].inputs: a cycle: a -> b -> a (each feeds the next); a layer reads only layers above it")
        XCTAssertEqual(error(residual(b: "inputs = [\"b\"]", sum: "inputs = [\"b\", \"a\"]")),
                       "model: model.layers[1].inputs: a cycle: b -> b (each feeds the next); a layer reads only layers above it")
        XCTAssertEqual(error(residual(b: "inputs = [\"c\"]") + ["type = \"conv2d\"\nname = \"c\"\nfilters = 1\nkernel_size = 1\ninputs = [\"a\"]"]),
                       "model: model.layers[1].inputs: \"c\" is model.layers[5], below this layer; a layer reads only layers above it (move it below \"c\")")
        XCTAssertEqual(error(residual(bFilters: 3)),
                       "model: layer 3 (add \"sum\"): add needs inputs of one shape, got (None, 6, 6, 3) and (None, 6, 6, 2)")
        XCTAssertEqual(error(residual(sum: "inputs = [\"a\", \"input\"]")),
                       "model: model.layers[1] (\"b\"): nothing reads its output, and a model has one output, the last layer (name it in a later layer's inputs, or remove it)")
        XCTAssertEqual(error(residual(b: "inputs = [\"a\", \"input\"]")),
                       "model: model.layers[1].inputs: conv2d takes one input, got 2 (merge them first with add or concatenate)")
        XCTAssertEqual(error(residual(sum: "inputs = [\"b\"]")), "model: model.layers[2].inputs: add merges two or more layers, got 1")
        XCTAssertEqual(error(residual(sum: "inputs = [\"b\", \"b\"]")), "model: model.layers[2].inputs names \"b\" twice")
        XCTAssertEqual(error(residual(sum: "inputs = [\"b\", \"input\"]").map { $0.replacingOccurrences(of: "name = \"b\"", with: "name = \"a\"") }),
                       "model: model.layers[1].name: \"a\" is already the name of model.layers[0]; names must differ")
        XCTAssertEqual(error(residual().map { $0.replacingOccurrences(of: "name = \"a\"", with: "name = \"input\"") }),
                       "model: model.layers[0].name: \"input\" is the model input's name; choose another")
        XCTAssertEqual(error(residual().map { $0.replacingOccurrences(of: "name = \"a\"", with: "name = \"a.b\"") }),
                       "model.layers[0].name: \"a.b\" is not a layer name (1 to 64 letters, digits, '_' or '-')")
        XCTAssertEqual(error(residual(sum: "inputs = \"b\"")),
                       "model.layers[2].inputs must be a list of layer names such as [\"conv2d_1\", \"input\"], got \"b\"")
        XCTAssertEqual(error(residual(sum: "inputs = []")),
                       "model.layers[2].inputs must be a list of layer names such as [\"conv2d_1\", \"input\"], got []")
        XCTAssertEqual(error(residual(sum: "inputs = [\"b\", 3]")),
                       "model.layers[2].inputs must be a list of layer names such as [\"conv2d_1\", \"input\"], got [\"b\", 3]")
        let unknown = error(residual(sum: "inputz = [\"b\"]"))
        XCTAssertTrue(unknown.contains("unknown key model.layers[2].inputz (allowed here: inputs, name, type)"), unknown)
    }
}
