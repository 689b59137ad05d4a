import ArgumentParser
import ConvNetConfig
import ConvNetCore
import Foundation

/// Flags that choose and adjust the recipe; shared by every command that needs a config.
struct ExperimentOptions: ParsableArguments {
    @Option(help: "Recipe file (TOML), e.g. configs/mnist.toml. Default: the built-in reference recipe.")
    var config: String?

    @Option(parsing: .unconditional, help: "Epochs to train (overrides the config).")
    var epochs: Int?

    @Option(parsing: .unconditional, help: "Global batch size: samples per optimizer step across all ranks (overrides the config).")
    var batchSize: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("Sum the gradients of K micro-batches of batch-size / K samples per optimizer step: the same weights as K = 1 without batch normalisation, with the memory of a micro-batch (overrides the config).",
                                                       valueName: "K"))
    var accumulationSteps: Int?

    @Option(parsing: .unconditional, help: "Learning rate (overrides the config).")
    var lr: Float?

    @Option(help: "Optimizer: \(OptimizerSpec.registry.names.dropLast().joined(separator: ", ")) or \(OptimizerSpec.registry.names.last!), with Keras defaults (overrides the config).")
    var optimizer: String?

    @Option(parsing: .unconditional, help: "Random seed for initial weights and shuffling (overrides the config).")
    var seed: UInt64?

    @Flag(help: "Visit the training set in file order every epoch.")
    var noShuffle = false

    @Option(parsing: .unconditional, help: ArgumentHelp("Hold out the last FRACTION of the training data (file order, before shuffling) and report val_loss and val_accuracy after each epoch, as Keras's validation_split; 0: none (overrides the config).",
                               valueName: "FRACTION"))
    var validationSplit: Double?

    @Option(help: ArgumentHelp("Numbers the gradient sums travel in between ranks: float64 (default; the weights do not depend on the rank count) or float32 (half the bytes; they then do) (overrides the config).",
                               valueName: "DTYPE"))
    var allreduceDtype: String?

    func validate() throws {
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
        if let epochs, epochs > ExperimentConfig.maximumEpochs { throw ValidationError("--epochs must be at most \(ExperimentConfig.maximumEpochs)") }
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        if let batchSize, batchSize > ExperimentConfig.maximumBatchSize {
            throw ValidationError("--batch-size must be at most \(ExperimentConfig.maximumBatchSize)")
        }
        if let accumulationSteps, accumulationSteps < 1 { throw ValidationError("--accumulation-steps must be at least 1, got \(accumulationSteps)") }
        if let lr, !(lr.isFinite && lr > 0) { throw ValidationError("--lr must be a positive number") }
    }

    /// The config file (else `base`, else the reference recipe) with flags applied, validated.
    func resolve(base: ExperimentConfig? = nil) throws -> ExperimentConfig {
        var resolved = try config.map { try ExperimentConfig.load(path: $0) } ?? base ?? .reference
        if let epochs { resolved.epochs = epochs }
        if let batchSize { resolved.batchSize = batchSize }
        if let accumulationSteps { resolved.accumulationSteps = accumulationSteps }
        if let optimizer, optimizer != resolved.optimizer.name {
            do { resolved.optimizer = try OptimizerSpec(named: optimizer, key: "--optimizer") } catch let error as DescriptionError {
                throw ConfigError(error.description)
            }
        }
        if let lr { resolved.optimizer.learningRate = lr }
        if let seed { resolved.seed = seed }
        if noShuffle { resolved.shuffle = false }
        if let allreduceDtype {
            guard let dtype = AllreduceDType(rawValue: allreduceDtype) else {
                throw ConfigError("--allreduce-dtype must be float64 or float32, got \"\(allreduceDtype)\"")
            }
            resolved.allreduceDtype = dtype
        }
        if let validationSplit {
            // Here rather than in validate(): the job's one-line error, not the parser's usage text.
            guard validationSplit >= 0 && validationSplit < 1 else {
                throw ConfigError("--validation-split must be at least 0 and below 1, got \(validationSplit)")
            }
            resolved.validationSplit = validationSplit
        }
        try resolved.validate()
        return resolved
    }
}
