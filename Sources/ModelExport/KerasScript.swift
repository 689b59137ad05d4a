import Foundation
import ConvNetCore

/// A Python file that builds the checkpoint's model in Keras 3, layer by layer, with our layer names
/// (`conv2d_1`, ...), so that each `<layer>.<weight>` tensor of the checkpoint loads by name. A chain
/// is a `keras.Sequential`; a graph is a `keras.Model(inputs, outputs)` of the functional API.
///
/// Contract of the script: `python load_model.py [checkpoint]` builds and compiles the model, loads
/// every weight (batch-norm moving statistics included) from the checkpoint given, or from the one
/// it was exported from, and prints `model.summary()`. Imported as a module it offers
/// `build_model()` and `load_weights(model, path)`. It needs keras 3 with a backend, numpy and
/// safetensors. It is compiled with the config's loss and optimizer (constant learning rate; a
/// schedule and clipnorm are not carried over), which is enough to evaluate and predict.
public enum KerasScript {
    /// The script's text. `optimizer` and `loss` are the config's; throws `ExportError` naming a layer
    /// kind or loss that has no Keras form.
    public static func source(model: Sequential, optimizer: OptimizerSpec, loss: any Loss, checkpointPath: String) throws -> String {
        var layers: [String] = []
        for (index, layer) in model.layers.enumerated() {
            let name = model.layerNames[index]
            do {
                guard let mapped = layer as? any ExportableLayer else { throw ExportError("no Keras layer for it") }
                let arguments = try mapped.kerasArguments() + ["name=\(pythonString(name))"]
                layers.append("keras.layers.\(layer.kerasClassName)(\(arguments.joined(separator: ", ")))")
            } catch let error as ExportError {
                throw ExportError("layer \(index + 1) (\(name), \(layer.typeName)): \(error.description)")
            }
        }
        let input = "keras.Input(shape=\(tuple(model.inputShape.dimensions)))"
        let construction = model.graph.isChain
            ? "model = keras.Sequential([\n" + ([input] + layers).map { "        " + $0 + ",\n" }.joined() + "    ])"
            : functional(model, input: input, layers: layers)
        return """
            \"\"\"The Keras 3 model of a convnet-dist checkpoint, with its weights loaded by name.

            Written by `convnet-dist export --format keras-script` from the checkpoint named by CHECKPOINT
            below (the path is not repeated here: any text is safe in a string literal, not in a docstring).

            usage: python load_model.py [CHECKPOINT]   (default: CHECKPOINT)
            Builds and compiles the model, loads every `<layer>.<weight>` tensor of the checkpoint (moving
            statistics included) and prints the summary. Imported, it offers build_model() and
            load_weights(model, path). Needs keras 3 with a backend, numpy and safetensors. Input: float32
            NHWC images as the model was trained on (MNIST: pixels / 255). Compiled with the config's loss and
            optimizer at a constant learning rate (a schedule or clipnorm is not carried over).
            \"\"\"
            import os
            import sys

            os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")   # before a TensorFlow backend loads: no banner

            import keras  # noqa: E402
            import numpy as np  # noqa: E402
            from safetensors.numpy import load_file  # noqa: E402

            CHECKPOINT = \(pythonString(checkpointPath))


            def build_model():
                \"\"\"The compiled \(model.graph.isChain ? "keras.Sequential" : "keras.Model"); layer names are the checkpoint's tensor prefixes.\"\"\"
                \(construction)
                model.compile(optimizer=\(try python(optimizer)), loss=\(try python(loss)), metrics=["accuracy"])
                return model


            def load_weights(model, path):
                \"\"\"Sets every weight of every layer from the tensor `<layer>.<weight>` of the safetensors file `path`.\"\"\"
                tensors = load_file(path)
                for layer in model.layers:
                    values = []
                    for variable in layer.weights:
                        name = "%s.%s" % (layer.name, getattr(variable, "path", variable.name).split("/")[-1])
                        if name not in tensors:
                            raise SystemExit("%s: no tensor %s" % (path, name))
                        if tuple(tensors[name].shape) != tuple(variable.shape):
                            raise SystemExit("%s: %s has shape %s, Keras expects %s"
                                             % (path, name, tuple(tensors[name].shape), tuple(variable.shape)))
                        values.append(tensors[name].astype(np.float32))
                    if values:
                        layer.set_weights(values)
                    if isinstance(layer, keras.layers.Normalization):
                        layer.finalize_state()   # an adapted layer computes with the loaded mean and variance
                return model


            if __name__ == "__main__":
                loaded = load_weights(build_model(), sys.argv[1] if len(sys.argv) > 1 else CHECKPOINT)
                loaded.summary()

            """
    }

    /// A graph model as Keras's functional API: each layer called on its inputs' outputs, by name.
    static func functional(_ model: Sequential, input: String, layers: [String]) -> String {
        let inputName = pythonString(ModelGraph.inputName)
        var lines = ["outputs = {\(inputName): \(input.dropLast()), name=\(inputName))}"]
        for (index, layer) in layers.enumerated() {
            let sources = model.graph.inputs[index].map {
                "outputs[\(pythonString($0 == ModelGraph.modelInput ? ModelGraph.inputName : model.layerNames[$0]))]"
            }
            let argument = model.layers[index] is any MergingLayer ? "[" + sources.joined(separator: ", ") + "]" : sources[0]
            lines.append("outputs[\(pythonString(model.layerNames[index]))] = \(layer)(\(argument))")
        }
        lines.append("model = keras.Model(outputs[\(inputName)], outputs[\(pythonString(model.layerNames.last!))])")
        return lines.joined(separator: "\n    ")
    }

    /// `keras.optimizers.<Class>(<the config's keys as arguments>)`.
    static func python(_ spec: OptimizerSpec) throws -> String {
        let arguments = try spec.config.map { "\($0.key)=\(try python($0.value))" }
        return "keras.optimizers.\(spec.kind.kerasClass)(\(arguments.joined(separator: ", ")))"
    }

    /// `keras.losses.<Class>(<the loss's keys as arguments>)`.
    static func python(_ loss: any Loss) throws -> String {
        let arguments = try loss.config.map { "\($0.key)=\(try python($0.value))" }
        return "keras.losses.\(type(of: loss).kerasClass)(\(arguments.joined(separator: ", ")))"
    }

    static func python(_ value: Bool) -> String { value ? "True" : "False" }

    static func python(_ value: ConfigValue) throws -> String {
        switch value {
        case let .int(i): return String(i)
        case let .number(d): return "\(d)"
        case let .bool(b): return python(b)
        case let .string(s): return pythonString(s)
        case .array, .table, .dateTime: throw ExportError("config value \(value.text) has no Keras argument form")
        }
    }

    static func tuple(_ values: [Int]) -> String { "(" + values.map(String.init).joined(separator: ", ") + (values.count == 1 ? ",)" : ")") }

    /// A Python string literal (JSON's escaping is valid Python).
    static func pythonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default:
                if scalar.value < 0x20 { out += String(format: "\\x%02x", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }
}
