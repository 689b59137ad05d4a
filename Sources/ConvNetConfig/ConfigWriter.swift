import ConvNetCore
import Foundation

extension ExperimentConfig {
    /// The config as TOML that `parse(toml:)` reads back to an equal value: saved in run folders
    /// and checkpoints, and printed by `train --print-config`.
    public var tomlText: String {
        var lines = ["[data]", "dataset = \(quoted(dataset))"] + (dataFormat == "idx" ? [] : ["format = \(quoted(dataFormat))"])
            + (dataPath.map { ["path = \(quoted($0))"] } ?? []) + (skipBadFiles ? ["skip_bad_files = true"] : [])
            + (validationSplit == 0 ? [] : ["validation_split = \(validationSplit)"]) + ["", "[model]",
                     "input_shape = [\(model.inputShape.dimensions.map(String.init).joined(separator: ", "))]",
                     "classes = \(model.classes)"]
        for (i, layer) in model.layers.enumerated() {
            let entries = LayerRegistry.config(of: layer)
            let connections = (model.name(i).map { [ConfigEntry("name", .string($0))] } ?? [])
                + (model.inputNames(i).map { [ConfigEntry("inputs", .array($0.map(ConfigValue.string)))] } ?? [])
            lines += ["", "[[model.layers]]"] + (entries.prefix(1) + connections + entries.dropFirst()).map(line)
        }
        if !(loss is CategoricalCrossentropy) || !LossRegistry.config(of: loss).dropFirst().isEmpty {
            lines += ["", "[loss]"] + LossRegistry.config(of: loss).map(line)
        }
        lines += ["", "[training]", "epochs = \(epochs)", "batch_size = \(batchSize)"]
            + (accumulationSteps == 1 ? [] : ["accumulation_steps = \(accumulationSteps)"])
            + (allreduceDtype == .float64 ? [] : ["allreduce_dtype = \(quoted(allreduceDtype.rawValue))"])
        lines += ["seed = \(seed)", "shuffle = \(shuffle)", "", "[optimizer]", "name = \(quoted(optimizer.name))"] + optimizer.config.map(line)
        if let clipnorm { lines.append("clipnorm = \(clipnorm)") }
        if let schedule { lines += ["", "[optimizer.schedule]"] + ScheduleRegistry.config(of: schedule).map(line) }
        if tensorboard { lines += ["", "[logging]", "tensorboard = true"] }
        for callback in callbacks { lines += ["", "[[callbacks]]"] + CallbackRegistry.config(of: callback).map(line) }
        return lines.joined(separator: "\n") + "\n"
    }

    private func line(_ entry: ConfigEntry) -> String { "\(entry.key) = \(entry.value.text)" }

    private func quoted(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
