import ConvNetConfig
import ConvNetCore
import Foundation
import SafeTensors

/// Where a run is: enough to continue it as if it had never stopped.
public struct TrainingPosition: Equatable, Sendable {
    /// The epoch the next step belongs to (1-based).
    public var epoch: Int
    /// Steps of that epoch already taken.
    public var step: Int
    /// Steps taken since the start of the run.
    public var globalStep: Int
    /// Running training loss and accuracy of the epoch so far, so its metrics row comes out whole.
    public var epochTotals: BatchStatistics
    /// Training seconds spent in the epoch so far.
    public var epochSeconds: Double

    public init(epoch: Int, step: Int, globalStep: Int, epochTotals: BatchStatistics, epochSeconds: Double) {
        self.epoch = epoch
        self.step = step
        self.globalStep = globalStep
        self.epochTotals = epochTotals
        self.epochSeconds = epochSeconds
    }

    public static let start = TrainingPosition(epoch: 1, step: 0, globalStep: 0, epochTotals: BatchStatistics(), epochSeconds: 0)
}

/// A checkpoint: weights, optimizer state, the resolved config and the position, in one
/// safetensors file that Python's `safetensors` and NumPy read.
///
/// Tensors: `<layer>.kernel`, `<layer>.bias` (Keras layouts), non-trainable state such as
/// `batch_normalization_1.moving_mean`, and `optimizer.<layer>.<tensor>.<state>`
/// (e.g. `optimizer.conv2d_1.kernel.rms`). Metadata (strings): `format`, `format_version`, `epoch`,
/// `step`, `global_step`, `seed`, `config` (TOML), `world_size`, `optimizer`, `optimizer_iterations`,
/// `epoch_loss_sum`, `epoch_correct`, `epoch_count`, `epoch_seconds`, `data_fingerprint` (the training
/// set's size and label hash), `class_names` (a JSON array, for data sets that name their classes),
/// `run_id` (the identity of the run that wrote it, as in its folder's `RunManifest`),
/// `callbacks` (with callbacks: one line per callback, its type and its state's numbers; and the
/// tensor `callbacks.best_weights` when `restore_best_weights` holds some),
/// and `checksum` (FNV-1a 64 of
/// the tensor data, hex). Nothing in it depends on the number of ranks that wrote it.
public struct Checkpoint {
    public static let format = "convnet-dist-checkpoint"
    public static let formatVersion = 1

    public var config: ExperimentConfig
    public var position: TrainingPosition
    public var worldSize: Int
    /// The training set's `DataFingerprint` (absent in checkpoints of earlier builds).
    public var dataFingerprint: String?
    /// Class `k`'s name, for data sets that have names (image folders); nil: classes are numbers.
    public var classNames: [String]?
    /// The identity of the run that wrote it (absent in checkpoints of earlier builds).
    public var runID: String?
    /// Flat parameters in the model's layout.
    public var parameters: [Float]
    /// Flat non-trainable state in the model's state layout (batch-norm moving statistics).
    public var state: [Float]
    public var optimizerIterations: Int
    /// Optimizer state buffers by state name, each in the model's layout.
    public var optimizerState: [String: [Float]]
    /// The callbacks' state; nil when the run that wrote it had none (or an earlier build wrote it).
    public var callbackState: CallbackState?

    /// What `EpochCallbacks` keeps between epochs.
    public struct CallbackState: Equatable, Sendable {
        /// Each callback's `state`, in the config's order.
        public var states: [[Double]]
        /// `restore_best_weights`'s parameters then non-trainable state.
        public var bestWeights: [Float]?
        public init(states: [[Double]], bestWeights: [Float]?) {
            self.states = states
            self.bestWeights = bestWeights
        }
    }
    static let bestWeightsTensor = "callbacks.best_weights"

    public init(config: ExperimentConfig, position: TrainingPosition, worldSize: Int, dataFingerprint: String? = nil,
                classNames: [String]? = nil, parameters: [Float], state: [Float] = [], optimizerIterations: Int,
                optimizerState: [String: [Float]], runID: String? = nil) {
        self.classNames = classNames
        self.runID = runID
        self.state = state
        self.dataFingerprint = dataFingerprint
        self.config = config
        self.position = position
        self.worldSize = worldSize
        self.parameters = parameters
        self.optimizerIterations = optimizerIterations
        self.optimizerState = optimizerState
    }

    /// The file's bytes.
    public func encoded(model: Sequential) -> Data {
        var tensors: [(name: String, tensor: SafeTensor)] = []
        for view in model.parameterLayout.views {
            tensors.append((view.name, SafeTensor(shape: view.shape, values: Array(parameters[view.range]))))
        }
        for view in model.stateLayout.views {
            tensors.append((view.name, SafeTensor(shape: view.shape, values: Array(state[view.range]))))
        }
        for stateName in optimizerState.keys.sorted() {
            let values = optimizerState[stateName]!
            for view in model.parameterLayout.views {
                tensors.append(("optimizer.\(view.name).\(stateName)", SafeTensor(shape: view.shape, values: Array(values[view.range]))))
            }
        }
        var metadata: [String: String] = [
            "format": Checkpoint.format,
            "format_version": String(Checkpoint.formatVersion),
            "epoch": String(position.epoch),
            "step": String(position.step),
            "global_step": String(position.globalStep),
            "seed": String(config.seed),
            "config": config.tomlText,
            "world_size": String(worldSize),
            "optimizer": config.optimizer.name,
            "optimizer_iterations": String(optimizerIterations),
            "epoch_loss_sum": String(position.epochTotals.lossSum),
            "epoch_correct": String(position.epochTotals.correct),
            "epoch_count": String(position.epochTotals.count),
            "epoch_seconds": String(position.epochSeconds),
        ]
        if let callbackState {
            metadata["callbacks"] = zip(config.callbacks, callbackState.states).map { callback, state in
                ([callback.name] + state.map { String($0) }).joined(separator: " ")
            }.joined(separator: "\n")
            if let best = callbackState.bestWeights { tensors.append((Checkpoint.bestWeightsTensor, SafeTensor(shape: [best.count], values: best))) }
        }
        if let dataFingerprint { metadata["data_fingerprint"] = dataFingerprint }
        if let runID { metadata["run_id"] = runID }
        if let classNames, let json = try? JSONSerialization.data(withJSONObject: classNames) {
            metadata["class_names"] = String(decoding: json, as: UTF8.self)
        }
        metadata["checksum"] = Checkpoint.checksum(tensors)
        return SafeTensors.encode(tensors, metadata: metadata)
    }

    /// Reads and checks a checkpoint: structure, format version, checksum, and that every tensor
    /// the config's model needs is present with the right shape. Throws before anything is used.
    public static func load(path: String) throws -> Checkpoint {
        let file: SafeTensors.File
        do { file = try SafeTensors.read(path: path) } catch {
            throw CheckpointError("\(error)")
        }
        let meta = file.metadata
        func field(_ name: String) throws -> String {
            guard let value = meta[name] else { throw CheckpointError("\(path): not a convnet-dist checkpoint (no \(name) in its metadata)") }
            return value
        }
        func integer(_ name: String) throws -> Int {
            guard let value = Int(try field(name)), value >= 0 else { throw CheckpointError("\(path): metadata \(name) is not a non-negative integer") }
            return value
        }
        guard try field("format") == format else { throw CheckpointError("\(path): not a convnet-dist checkpoint (format \(meta["format"]!))") }
        let version = try field("format_version")
        guard version == String(formatVersion) else {
            throw CheckpointError("\(path): unknown checkpoint format version \(version) (this build reads version \(formatVersion))")
        }
        let tensors = file.names.map { ($0, file.tensors[$0]!) }
        guard try field("checksum") == checksum(tensors) else {
            throw CheckpointError("\(path): checksum mismatch: the tensor data is corrupt")
        }
        let config: ExperimentConfig
        do { config = try ExperimentConfig.parse(toml: try field("config")) } catch {
            throw CheckpointError("\(path): its config is invalid: \(error)")
        }
        let model: Sequential
        do { model = try Sequential(config.model) } catch { throw CheckpointError("\(path): \(error)") }

        var parameters = [Float](repeating: 0, count: model.parameterCount)
        try fill(&parameters, layout: model.parameterLayout, prefix: "", suffix: "", file: file, path: path)
        var stateValues = [Float](repeating: 0, count: model.stateCount)
        try fill(&stateValues, layout: model.stateLayout, prefix: "", suffix: "", file: file, path: path)
        let expectedState = config.optimizer.make(parameterCount: 0).state.map(\.name)
        var state: [String: [Float]] = [:]
        for name in expectedState {
            var values = [Float](repeating: 0, count: model.parameterCount)
            try fill(&values, layout: model.parameterLayout, prefix: "optimizer.", suffix: ".\(name)", file: file, path: path)
            state[name] = values
        }
        let known = Set(model.parameterLayout.views.flatMap { view in
            [view.name] + expectedState.map { "optimizer.\(view.name).\($0)" }
        } + model.stateLayout.views.map(\.name) + [bestWeightsTensor])
        if let extra = file.names.first(where: { !known.contains($0) }) {
            throw CheckpointError("\(path): unexpected tensor \(extra): the checkpoint holds a different architecture")
        }
        guard let lossSum = Double(try field("epoch_loss_sum")), let seconds = Double(try field("epoch_seconds")) else {
            throw CheckpointError("\(path): metadata epoch_loss_sum or epoch_seconds is not a number")
        }
        let position = TrainingPosition(
            epoch: try integer("epoch"), step: try integer("step"), globalStep: try integer("global_step"),
            epochTotals: BatchStatistics(lossSum: lossSum, correct: try integer("epoch_correct"), count: try integer("epoch_count")),
            epochSeconds: seconds)
        guard position.epoch >= 1 else { throw CheckpointError("\(path): metadata epoch must be at least 1") }
        var classNames: [String]?
        if let text = meta["class_names"] {
            guard let names = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String], names.count == model.classes else {
                throw CheckpointError("\(path): metadata class_names is not a JSON array of \(model.classes) names")
            }
            classNames = names
        }
        var checkpoint = Checkpoint(config: config, position: position, worldSize: try integer("world_size"),
                          dataFingerprint: meta["data_fingerprint"], classNames: classNames, parameters: parameters, state: stateValues,
                          optimizerIterations: try integer("optimizer_iterations"), optimizerState: state, runID: meta["run_id"])
        checkpoint.callbackState = try callbackState(meta["callbacks"], best: file.tensors[bestWeightsTensor], config: config,
                                                     weights: model.parameterCount + model.stateCount, path: path)
        return checkpoint
    }

    /// The `callbacks` metadata and the best weights, checked against the checkpoint's own config.
    private static func callbackState(_ text: String?, best: SafeTensor?, config: ExperimentConfig, weights: Int,
                                      path: String) throws -> CallbackState? {
        guard let text else {
            guard best == nil else { throw CheckpointError("\(path): tensor \(bestWeightsTensor) without callback state") }
            return nil
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.split(separator: " ").map(String.init) }
        guard lines.count == config.callbacks.count else {
            throw CheckpointError("\(path): metadata callbacks holds \(lines.count) callback(s) but its config has \(config.callbacks.count)")
        }
        var states: [[Double]] = []
        for (fields, callback) in zip(lines, config.callbacks) {
            let numbers = fields.dropFirst().compactMap(Double.init)
            guard fields.first == callback.name, numbers.count == fields.count - 1, numbers.count == callback.state.count,
                  type(of: callback).isValidState(numbers) else {
                throw CheckpointError("\(path): metadata callbacks does not hold the state of its config's \(callback.name)")
            }
            var restored = callback
            restored.state = numbers
            if let stopping = restored as? EarlyStopping, stopping.holdsBestWeights, best == nil {
                throw CheckpointError("\(path): its early_stopping holds best weights but the tensor \(bestWeightsTensor) is missing")
            }
            states.append(numbers)
        }
        if let best {
            guard best.shape == [weights], best.values.allSatisfy(\.isFinite) else {
                throw CheckpointError("\(path): tensor \(bestWeightsTensor) is not \(weights) finite numbers")
            }
        }
        return CallbackState(states: states, bestWeights: best?.values)
    }

    private static func fill(_ values: inout [Float], layout: ParameterLayout, prefix: String, suffix: String,
                             file: SafeTensors.File, path: String) throws {
        for view in layout.views {
            let name = prefix + view.name + suffix
            guard let tensor = file.tensors[name] else {
                throw CheckpointError("\(path): no tensor \(name): the checkpoint holds a different architecture or optimizer")
            }
            guard tensor.shape == view.shape else {
                throw CheckpointError("\(path): tensor \(name) has shape \(tensor.shape) but the model needs \(view.shape): different architecture")
            }
            if let bad = tensor.values.firstIndex(where: { !$0.isFinite }) {
                throw CheckpointError("\(path): tensor \(name) holds a non-finite value (\(tensor.values[bad]) at index \(bad)): the checkpoint is unusable")
            }
            values.replaceSubrange(view.range, with: tensor.values)
        }
    }

    /// FNV-1a 64 over every tensor's name and little-endian bytes, in the given order.
    static func checksum(_ tensors: [(name: String, tensor: SafeTensor)]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ byte: UInt8) { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        for (name, tensor) in tensors {
            name.utf8.forEach(mix)
            tensor.values.withUnsafeBytes { $0.forEach(mix) }
        }
        return String(hash, radix: 16)
    }
}

extension Checkpoint {
    /// A checkpoint that names its classes meets data that names its own: they must be the same, in
    /// the same order, or every label would mean another class (the counts and label hashes agree).
    public func requireSameClasses(as data: [String]?, path: String) throws {
        guard let classNames, let data, classNames != data else { return }
        func list(_ names: [String]) -> String { names.count <= 8 ? names.joined(separator: ", ") : names.prefix(8).joined(separator: ", ") + ", ..." }
        throw CheckpointError("\(path) was trained on classes \(list(classNames)) but the data holds \(list(data))")
    }
}

public struct CheckpointError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
