import ConvNetCore

/// Everything a training run is made of: the data set, the model, the optimizer and the schedule.
/// Read from a TOML file in `configs/`; command-line flags override single values afterwards.
public struct ExperimentConfig: Equatable, Sendable {
    public static func == (a: ExperimentConfig, b: ExperimentConfig) -> Bool {
        a.dataset == b.dataset && a.dataFormat == b.dataFormat && a.validationSplit == b.validationSplit && a.model == b.model && a.optimizer == b.optimizer
            && ScheduleRegistry.equal(a.schedule, b.schedule)
            && a.clipnorm == b.clipnorm && LossRegistry.equal(a.loss, b.loss) && a.epochs == b.epochs
            && a.batchSize == b.batchSize && a.seed == b.seed && a.shuffle == b.shuffle
            && a.accumulationSteps == b.accumulationSteps && CallbackRegistry.equal(a.callbacks, b.callbacks)
            && a.allreduceDtype == b.allreduceDtype
    }

    /// Data set name: the folder `data/<dataset>` and the download catalogue's entry.
    public var dataset: String
    /// How the data folder stores it: `idx` (default), `csv`, `npz` or `folder` (`DataFormats.DataFormat`).
    public var dataFormat = "idx"
    /// Data sets whose files have a format of their own: `[data] dataset` alone selects it.
    public static let formatOfDataset = ["cifar10": "cifar10"]
    /// `[data] path`: the data folder when `--data-dir` does not name one. Not part of the recipe
    /// (a moved folder holds the same data; checkpoints recognise data by its fingerprint).
    public var dataPath: String?
    /// `[data] skip_bad_files`: leave out pictures that cannot be decoded instead of stopping.
    public var skipBadFiles = false
    /// Keras's `validation_split`: the last fraction of the training samples in file order, held
    /// out before shuffling and evaluated after each epoch (`val_loss`, `val_accuracy`); 0: none.
    public var validationSplit = 0.0
    public var model: ModelSpec
    public var optimizer: OptimizerSpec
    /// Learning rate as a function of the step (`[optimizer.schedule]`); nil: constant.
    public var schedule: (any LearningRateSchedule)?
    /// Keras's `clipnorm` on the optimizer; nil: no clipping.
    public var clipnorm: Float?
    /// `[loss]`; categorical cross-entropy by default.
    public var loss: any Loss
    public var epochs: Int
    /// Global batch: samples per optimizer step, across all ranks and threads.
    public var batchSize: Int
    /// `[training] accumulation_steps`: each optimizer step sums the gradients of this many
    /// micro-batches of `batchSize / accumulationSteps` samples, run one after the other, before
    /// its one allreduce. The same weights as one pass over the batch (Double sums) for models
    /// without batch normalisation, whose statistics are then those of each micro-batch.
    public var accumulationSteps = 1
    /// `[training] allreduce_dtype`: the numbers the ranks' gradient sums travel in. `float64`
    /// (default): the sums do not depend on the rank count. `float32`: each rank's sums are rounded
    /// to Float and summed in Float, half the bytes, and the weights then depend on the rank count.
    public var allreduceDtype = AllreduceDType.float64
    public var seed: UInt64
    public var shuffle: Bool
    /// `[logging] tensorboard`: rank 0 also writes TensorBoard events files to `RUN_DIR/tensorboard`.
    /// Not part of the recipe (it changes no weight), so not compared.
    public var tensorboard = false
    /// `[[callbacks]]` (or `--callback`): Keras callbacks acting after each epoch, at most one of each type but model_checkpoint.
    public var callbacks: [any Callback] = []

    public init(dataset: String = "mnist", model: ModelSpec = .kerasMNIST,
                optimizer: OptimizerSpec = .reference, loss: any Loss = CategoricalCrossentropy(),
                epochs: Int = 5, batchSize: Int = 64, seed: UInt64 = 1, shuffle: Bool = true) {
        self.dataset = dataset
        self.model = model
        self.optimizer = optimizer
        self.loss = loss
        self.epochs = epochs
        self.batchSize = batchSize
        self.seed = seed
        self.shuffle = shuffle
    }

    /// The reference recipe: the Keras MNIST convnet, RMSprop, batch 64, 5 epochs.
    public static let reference = ExperimentConfig()

    /// Upper limits that keep a typo from allocating the machine away.
    public static let maximumEpochs = 100_000
    public static let maximumBatchSize = 1 << 20

    /// Checks values that flags may have changed after parsing; throws naming the offending key.
    public func validate() throws {
        guard epochs >= 1 else { throw ConfigError("training.epochs must be at least 1, got \(epochs)") }
        guard epochs <= Self.maximumEpochs else { throw ConfigError("training.epochs must be at most \(Self.maximumEpochs), got \(epochs)") }
        guard validationSplit >= 0 && validationSplit < 1 else {
            throw ConfigError("data.validation_split must be at least 0 and below 1, got \(validationSplit)")
        }
        guard batchSize >= 1 else { throw ConfigError("training.batch_size must be at least 1, got \(batchSize)") }
        guard batchSize <= Self.maximumBatchSize else {
            throw ConfigError("training.batch_size must be at most \(Self.maximumBatchSize), got \(batchSize)")
        }
        guard accumulationSteps >= 1 else {
            throw ConfigError("training.accumulation_steps must be at least 1, got \(accumulationSteps)")
        }
        guard accumulationSteps <= batchSize else {
            throw ConfigError("training.accumulation_steps \(accumulationSteps) is more than training.batch_size \(batchSize) "
                              + "(--accumulation-steps, --batch-size): a micro-batch holds batch_size / accumulation_steps samples")
        }
        guard batchSize % accumulationSteps == 0 else {
            throw ConfigError("training.batch_size \(batchSize) is not a multiple of training.accumulation_steps \(accumulationSteps) "
                              + "(--batch-size, --accumulation-steps): each step sums accumulation_steps micro-batches of "
                              + "batch_size / accumulation_steps samples")
        }
        let lr = optimizer.learningRate
        guard lr.isFinite, lr > 0 else { throw ConfigError("optimizer.learning_rate must be a positive number, got \(lr)") }
        try validateCallbacks()
        let built: Sequential
        do { built = try Sequential(model) } catch let error as ModelError {
            throw ConfigError("model: \(error.description)")
        }
        do { try loss.validate(outputActivation: built.outputActivation) } catch let error as DescriptionError {
            throw ConfigError(error.description)
        }
    }
}

extension ExperimentConfig {
    /// At most one callback of each type but model_checkpoint (each of those with its own file),
    /// each watching a figure the run produces (the test set's
    /// figures are checked once the data is found: `requireFigures`).
    func validateCallbacks() throws {
        for (i, callback) in callbacks.enumerated() {
            if !type(of: callback).allowsSeveral && callbacks[..<i].contains(where: { $0.name == callback.name }) {
                throw ConfigError("callbacks[\(i)]: a second \(callback.name) callback (at most one early_stopping and one reduce_lr_on_plateau; "
                                  + "model_checkpoint may repeat)")
            }
            if let file = (callback as? ModelCheckpoint)?.filePath,
               let other = callbacks[..<i].firstIndex(where: { ($0 as? ModelCheckpoint).map { file.clashes(with: $0.filePath) } ?? false }) {
                throw ConfigError("callbacks[\(i)].filepath: \"\(file.pattern)\" names the same files as callbacks[\(other)]'s: "
                                  + "give each model_checkpoint its own filepath")
            }
            if let (key, figure) = callback.figuresUsed.first(where: { $0.figure.hasPrefix("val_") }), validationSplit == 0 {
                throw ConfigError("callbacks[\(i)].\(key): \(figure) needs data.validation_split (--validation-split) above 0; "
                                  + "or \(key == "monitor" ? "monitor" : "name") \(figure.dropFirst(4)) or test_\(figure.dropFirst(4))")
            }
        }
    }

    /// Throws when a callback watches the test set's figures and the data has no test set.
    public func requireFigures(hasTestSet: Bool, dataDirectory: String) throws {
        guard !hasTestSet else { return }
        for (i, callback) in callbacks.enumerated() {
            guard let (key, figure) = callback.figuresUsed.first(where: { $0.figure.hasPrefix("test_") }) else { continue }
            throw ConfigError("callbacks[\(i)].\(key): \(figure) needs a test set, and \(dataDirectory) has none; "
                              + "\(key == "monitor" ? "monitor" : "name") val_\(figure.dropFirst(5)) instead")
        }
    }
}

public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// `[training] allreduce_dtype` / `--allreduce-dtype`: see `ExperimentConfig.allreduceDtype`.
public enum AllreduceDType: String, CaseIterable, Sendable {
    case float64, float32
}
