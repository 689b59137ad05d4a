import ConvNetCore
import Foundation
import ModelExport
import TestSupport
import XCTest

/// Every registered layer kind has an ONNX mapping and a Keras layer, and a kind without one is refused
/// with a line naming it. (Numbers: Tests/python/test_model_export.py runs the exported models.)
final class ModelExportMappingTests: XCTestCase {
    /// Models that between them use every kind of `LayerRegistry.kinds`.
    private let models: [ModelSpec] = [
        ModelSpec(inputShape: TensorShape([12, 12, 2]), classes: 3, layers: [
            Conv2D(filters: 4, kernelSize: (3, 3), strides: (2, 2), padding: .same, activation: .gelu),
            BatchNorm(), ActivationLayer(.silu), MaxPool2D(window: PoolWindow(size: (3, 3), strides: (2, 2), padding: .same)),
            AvgPool2D(window: PoolWindow(size: (2, 2), strides: (1, 1), padding: .same)),
            Flatten(), Dropout(rate: 0.5), Dense(units: 3, activation: .softmax),
        ]),
        ModelSpec(inputShape: TensorShape([8, 8, 1]), classes: 2, layers: [
            Conv2D(filters: 2, kernelSize: (3, 3)), UpSampling2D(size: (2, 3)), GlobalAvgPool2D(), Dense(units: 2, activation: .softmax),
        ]),
        ModelSpec(inputShape: TensorShape([8, 8, 1]), classes: 2, layers: [
            Conv2D(filters: 2, kernelSize: (3, 3)), GlobalMaxPool2D(), Dense(units: 2, activation: .softmax),
        ]),
        ModelSpec(inputShape: TensorShape([6, 6, 1]), classes: 2, layers: [
            Conv2D(filters: 1, kernelSize: (3, 3), padding: .same), Add(), Concatenate(), Flatten(), Dense(units: 2, activation: .softmax),
        ], inputs: [nil, ["conv2d_1", "input"], ["add_1", "conv2d_1"], nil, nil]),
        ModelSpec(inputShape: TensorShape([8, 8, 3]), classes: 2, layers: [
            Rescaling(scale: 0.5), Normalization(mean: [0], variance: [1]), ZeroPadding2D(), RandomFlip(), RandomCrop(height: 8, width: 8),
            RandomTranslation(heightFactor: (-0.1, 0.1), widthFactor: (-0.1, 0.1)),
            Conv2D(filters: 2, kernelSize: (3, 3)), GlobalMaxPool2D(), Dense(units: 2, activation: .softmax),
        ]),
    ]

    func testEveryRegisteredLayerKindExports() throws {
        let covered = Set(models.flatMap { $0.layers.map { $0.typeName } })
        XCTAssertEqual(covered, Set(LayerRegistry.kinds.map { $0.typeName }), "add a model with the new kind here, and its mapping")
        for spec in models {
            let model = try Sequential(spec)
            let onnx = try ONNXExport.serialized(model, parameters: [Float](repeating: 0.5, count: model.parameterCount),
                                                 state: [Float](repeating: 1, count: model.stateCount))
            XCTAssertNotNil(onnx.range(of: Data("conv2d_1.kernel".utf8)))
            let script = try KerasScript.source(model: model, optimizer: .defaults(for: "adam")!, loss: CategoricalCrossentropy(),
                                                checkpointPath: "/tmp/c.safetensors")
            for name in model.layerNames { XCTAssertTrue(script.contains("name=\"\(name)\""), "no Keras layer \(name)") }
        }
    }

    /// `convolution = "winograd"` picks how a convolution is computed, not what: the exports are the
    /// direct path's, and Keras gets no `convolution` argument.
    func testWinogradConvolutionExportsAsAPlainConvolution() throws {
        func exports(_ convolution: ConvolutionAlgorithm?) throws -> (onnx: Data, script: String) {
            let model = try Sequential(ModelSpec(inputShape: TensorShape([8, 8, 2]), classes: 2, layers: [
                Conv2D(filters: 3, kernelSize: (3, 3), padding: .same, convolution: convolution), GlobalAvgPool2D(),
                Dense(units: 2, activation: .softmax),
            ]))
            let parameters = [Float](repeating: 0.5, count: model.parameterCount)
            return (try ONNXExport.serialized(model, parameters: parameters, state: []),
                    try KerasScript.source(model: model, optimizer: .defaults(for: "adam")!, loss: CategoricalCrossentropy(),
                                           checkpointPath: "/tmp/c.safetensors"))
        }
        let (direct, winograd) = (try exports(nil), try exports(.winograd))
        XCTAssertEqual(winograd.onnx, direct.onnx)
        XCTAssertEqual(winograd.script, direct.script)
        XCTAssertFalse(winograd.script.contains("convolution"))
    }

    /// `Tests/python/layers.json`, the Python scripts' one table of layer kinds, names every registered
    /// kind with its Keras class and layer-name stem.
    func testThePythonLayerTableMatchesTheRegistry() throws {
        let path = SharedData.packageRoot.appendingPathComponent("Tests/python/layers.json").path
        let table = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        let rows = table.filter { !$0.key.hasPrefix("//") }.mapValues { $0 as? [String: String] }
        for kind in LayerRegistry.kinds {
            XCTAssertEqual(rows[kind.typeName] ?? nil, ["keras_class": kind.kerasClassName, "keras_name": kind.kerasNameStem],
                           "add to \(path): \"\(kind.typeName)\": {\"keras_class\": \"\(kind.kerasClassName)\", \"keras_name\": \"\(kind.kerasNameStem)\"}")
        }
        XCTAssertEqual(Set(rows.keys), Set(LayerRegistry.kinds.map { $0.typeName }), "\(path) lists a kind the registry does not have")
    }

    func testAKindWithoutAMappingIsRefusedByName() throws {
        let model = try Sequential(ModelSpec(inputShape: TensorShape([4, 4, 1]), classes: 2,
                                             layers: [Unmapped(), Flatten(), Dense(units: 2, activation: .softmax)]))
        XCTAssertThrowsError(try ONNXExport.serialized(model, parameters: [Float](repeating: 0, count: model.parameterCount), state: [])) {
            XCTAssertEqual("\($0)", "layer 1 (unmapped_1, unmapped): layer type unmapped has no ONNX mapping")
        }
        XCTAssertThrowsError(try KerasScript.source(model: model, optimizer: .defaults(for: "sgd")!, loss: CategoricalCrossentropy(),
                                                    checkpointPath: "c")) {
            XCTAssertEqual("\($0)", "layer 1 (unmapped_1, unmapped): no Keras layer for it")
        }
    }
}

/// A layer kind that no exporter knows (an identity on images).
private struct Unmapped: Layer {
    static let typeName = "unmapped"
    static let kerasClassName = "Unmapped"
    private(set) var inputShape = TensorShape([])
    init() {}
    init(config: ConfigTable) throws {}
    var config: [ConfigEntry] { [] }
    func bound(to inputShape: TensorShape) throws -> Unmapped {
        var layer = self
        layer.inputShape = inputShape
        return layer
    }
    var outputShape: TensorShape { inputShape }
    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                 parameters: UnsafePointer<Float>, memory: LayerMemory, context: PassContext) {
        y.update(from: x, count: batch * inputShape.count)
    }
    func backward(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                  dx: UnsafeMutablePointer<Float>?, batch: Int, parameters: UnsafePointer<Float>,
                  gradients: UnsafeMutablePointer<Double>, memory: LayerMemory, context: PassContext) {
        dx?.update(from: dy, count: batch * inputShape.count)
    }
}
