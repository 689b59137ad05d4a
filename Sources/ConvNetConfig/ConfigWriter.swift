import ConvNetCore
import Foundation

extension ExperimentConfig {
    /// The config as TOML that `parse(toml:)` reads back to an equal value: saved in run folders
    /// and checkpoints, and printed by `train --print-config`.
    public var tomlText: String {
        var lines = ["[data]", "dataset = \(quoted(dataset))", "", "[model]",
                     "input_shape = [\(model.inputShape.dimensions.map(String.init).joined(separator: ", "))]",
                     "classes = \(model.classes)"]
        for layer in model.layers {
            lines += ["", "[[model.layers]]"]
            switch layer {
            case let .conv2d(filters, (kh, kw), activation):
                lines += ["type = \"conv2d\"", "filters = \(filters)",
                          kh == kw ? "kernel_size = \(kh)" : "kernel_size = [\(kh), \(kw)]",
                          "activation = \(quoted(activation.rawValue))"]
            case let .maxPool2d(pool):
                lines += ["type = \"maxpool2d\"", "pool_size = \(pool)"]
            case .flatten:
                lines += ["type = \"flatten\""]
            case let .dense(units, activation):
                lines += ["type = \"dense\"", "units = \(units)", "activation = \(quoted(activation.rawValue))"]
            }
        }
        lines += ["", "[training]", "epochs = \(epochs)", "batch_size = \(batchSize)", "seed = \(seed)",
                  "shuffle = \(shuffle)", "", "[optimizer]", "name = \(quoted(optimizer.name))"]
        switch optimizer {
        case let .rmsprop(lr, rho, eps):
            lines += ["learning_rate = \(lr)", "rho = \(rho)", "epsilon = \(eps)"]
        case let .sgd(lr, momentum, nesterov):
            lines += ["learning_rate = \(lr)", "momentum = \(momentum)", "nesterov = \(nesterov)"]
        case let .adam(lr, b1, b2, eps):
            lines += ["learning_rate = \(lr)", "beta_1 = \(b1)", "beta_2 = \(b2)", "epsilon = \(eps)"]
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func quoted(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
