import ConvNetConfig
import ConvNetCore
import Foundation
import SafeTensors

extension Checkpoint {
    /// What `evaluate` and `export` take: a checkpoint, or a run folder's `model.safetensors` (plain
    /// weights in Keras names, no position or optimizer state) read with the `config.toml` and
    /// `class_names.txt` the run wrote beside it. Plain weights come back as a checkpoint at the
    /// start of a run, with `plainWeights` true; a file that says it is a checkpoint gets all of
    /// `load`'s checks.
    public static func loadModel(path: String) throws -> (checkpoint: Checkpoint, plainWeights: Bool) {
        let file: SafeTensors.File
        do { file = try SafeTensors.read(path: path) } catch { throw CheckpointError("\(error)") }
        if file.metadata["format"] == format { return (try load(path: path), false) }
        let folder = (path as NSString).deletingLastPathComponent
        let configPath = ((folder.isEmpty ? "." : folder) as NSString).appendingPathComponent("config.toml")
        guard FileManager.default.fileExists(atPath: configPath) else {
            throw CheckpointError("\(path) holds plain weights, not a checkpoint, and no config.toml beside it says which model they "
                                  + "belong to: give a checkpoint (RUN/checkpoints/step-N.safetensors) or a run folder's model.safetensors")
        }
        let config = try ExperimentConfig.load(path: configPath)
        let model = try Sequential(config.model)
        let parameters = FloatBuffer(count: model.parameterCount), state = FloatBuffer(count: model.stateCount)
        try WeightsFile.load(path: path, model: model, into: parameters, state: state)
        let namesPath = ((folder.isEmpty ? "." : folder) as NSString).appendingPathComponent("class_names.txt")
        let attributes = try? FileManager.default.attributesOfItem(atPath: namesPath)
        let readable = attributes?[.type] as? FileAttributeType == .typeRegular && ((attributes?[.size] as? NSNumber)?.intValue ?? .max) < 1 << 20
        let names = readable ? (try? String(contentsOfFile: namesPath, encoding: .utf8))?.split(separator: "\n").map(String.init) : nil
        let checkpoint = Checkpoint(config: config, position: .start, worldSize: 1,
                                    classNames: names?.count == model.classes ? names : nil,
                                    parameters: parameters.array, state: state.array, optimizerIterations: 0, optimizerState: [:])
        return (checkpoint, true)
    }
}
