import Communication
import ConvNetConfig
import ConvNetCore
import ConvNetData
import DataFormats

/// Everything a run starts from, made in the order that fails fastest: the checkpoint to resume
/// (checked against the config before any data is read), rank 0's claim on the run folder (so a
/// second process, or a folder holding another run, is turned away before anything is loaded),
/// this rank's shards of the data with the validation samples held out, and the weights (the
/// checkpoint's, a weights file's, or glorot_uniform), broadcast from rank 0 so that every rank
/// starts from the same bits. Only when every rank has all of these does rank 0 begin the run in
/// its folder (an `--overwrite` removing the old run's files then, not before: see `RunFolder`).
///
/// A collective: every rank makes one at the same point.
final class RunSetup {
    let model: Sequential
    /// The synchronised optimizer step; owns the parameters, the state and the optimizer.
    let step: DataParallelStep
    /// This rank's shard of the training samples (without the held-out validation samples).
    let training: LabelledImages
    /// This rank's shard of the held-out samples; nil without a `validation_split`.
    let validation: ShardedEvaluation?
    /// Only rank 0 loads the test set; nil elsewhere and when the data set has none.
    let test: LabelledImages?
    /// Class names of the data set, when it has them (image folders).
    let classNames: [String]?
    /// Counts and a hash of the training labels, saved in checkpoints to recognise the data on resume.
    let dataFingerprint: String
    /// Where the run starts: the checkpoint's position, or the start.
    let position: TrainingPosition
    /// The checkpoint resumed and the rank count that wrote it; nil for a new run.
    let resumedFrom: (path: String, worldSize: Int)?
    /// What a resume at an epoch boundary changed (batch size, seed, shuffle, data), to be logged.
    let resumeChanges: [String]
    /// This rank's estimated peak memory, checked against `TrainingOptions.memoryBudget` before allocating.
    let memoryEstimate: MemoryEstimate
    /// Rank 0's claim on the run folder, held as long as the setup lives.
    private let runFolder: RunFolder?
    /// The callbacks' state to continue from (a resumed run's checkpoint held some); nil: fresh.
    let callbackState: Checkpoint.CallbackState?
    /// The run's identity, for its checkpoints (rank 0 only).
    let runID: String?

    init(options: TrainingOptions, communicator: any Communicator, progress: ProgressReporter,
         hooks: (any TrainingHooks)?) throws {
        let config = options.config
        try config.validate()
        model = try Sequential(config.model)
        let budget = options.memoryBudget ?? .machine(sharedBy: communicator.localSize)
        try RunMemory.checkBeforeLoading(model: model, config: config, threads: options.threads, budget: budget)
        let checkpoint = try options.resumeFrom.map { try Self.readCheckpoint($0, for: config) }
        runFolder = communicator.isRoot ? RunFolder(path: options.runDirectory) : nil
        try runFolder?.claim(resuming: options.resumeFrom.map { ($0, checkpoint?.runID) }, overwrite: options.overwrite)
        hooks?.beforeLoading()

        var loading = Self.loadingOptions(options, communicator: communicator, reporter: progress)
        loading.willHold = RunMemory.checkWhileLoading(model: model, config: config, threads: options.threads, budget: budget)
        let files = try DataFormat.files(format: config.dataFormat, directory: options.dataDirectory, options: loading)
        classNames = try files.classNames()
        if let checkpoint, let path = options.resumeFrom { try checkpoint.requireSameClasses(as: classNames, path: path) }   // first: a folder in neither layout is refused as such
        try config.requireFigures(hasTestSet: files.hasTestSet, dataDirectory: options.dataDirectory)
        guard files.hasTestSet || config.validationSplit > 0 else {
            throw TrainingError("\(options.dataDirectory) has no test/ folder: add \(options.dataDirectory)/test/<class>/* or set validation_split")
        }
        let shape = config.model.inputShape.dimensions
        let loaded = try files.loadTraining(shard: Shard(index: communicator.rank, count: communicator.size),
                                            expectedShape: shape, classes: config.model.classes)
        (training, validation) = try Self.holdOut(config.validationSplit, of: loaded, directory: options.dataDirectory)
        test = communicator.isRoot && files.hasTestSet
            ? try files.loadTest(shard: .whole, expectedShape: shape, classes: config.model.classes) : nil
        guard training.totalCount > 0 else { throw TrainingError("\(options.dataDirectory): the training set is empty") }
        if let test, test.count == 0 { throw TrainingError("\(options.dataDirectory): the test set is empty") }
        dataFingerprint = DataFingerprint.of(training, communicator: communicator)

        let samplesPerRank = DataParallelStep.samplesPerRank(batchSize: config.batchSize, trainingCount: training.totalCount,
                                                             ranks: communicator.size, accumulationSteps: config.accumulationSteps)
        memoryEstimate = RunMemory.estimate(model: model, config: config, threads: options.threads,
                                            trainingCount: training.totalCount, ranks: communicator.size,
                                            held: training.count + (validation?.set.count ?? 0) + (test?.count ?? 0))
        try budget.check(memoryEstimate, advice: RunMemory.advice)
        step = DataParallelStep(model: model, config: config, threads: options.threads, maxBatch: samplesPerRank,
                                communicator: communicator)
        if let checkpoint, let path = options.resumeFrom {
            Self.restore(checkpoint, into: step)
            position = checkpoint.position
            resumedFrom = (path, checkpoint.worldSize)
            resumeChanges = try ResumeCheck.changes(from: checkpoint, path: path, to: config,
                                                    dataFingerprint: dataFingerprint, trainingCount: training.totalCount,
                                                    batchStatistics: model.synchronisesBatches)
                + (try Self.callbackChanges(checkpoint, path: path, config: config))
            callbackState = checkpoint.callbackState
        } else {
            if let path = options.initialWeights {
                try WeightsFile.load(path: path, model: model, into: step.parameters, state: step.state)
            } else {
                Initialization.glorotUniform(model, seed: config.seed, into: step.parameters)
                try NormalizationAdapt.adapt(model, training: training, communicator: communicator, into: step.state)
            }
            (position, resumedFrom, resumeChanges, callbackState) = (.start, nil, [], nil)
        }
        step.broadcastWeights()
        communicator.barrier()   // every rank has read and checked its inputs: now the folder may change
        let named = classNames != nil
        runID = try runFolder?.begin(writing: RunFolder.runFiles.filter {
            $0 != "checkpoints" && ($0 != "class_names.txt" || named) && ($0 != "steps.csv" || options.logEvery != nil)
                && ($0 != ModelCheckpoint.fileName || config.callbacks.contains { ($0 as? ModelCheckpoint)?.filePath.pattern == ModelCheckpoint.fileName })
        })
    }

    /// The checkpoint at `path`, refused when it holds another architecture or optimizer than `config`.
    private static func readCheckpoint(_ path: String, for config: ExperimentConfig) throws -> Checkpoint {
        let checkpoint = try Checkpoint.load(path: path)
        guard checkpoint.config.model == config.model else {
            throw CheckpointError("\(path) holds a different architecture than the config being trained")
        }
        guard checkpoint.config.optimizer.name == config.optimizer.name else {
            throw CheckpointError("\(path) holds \(checkpoint.config.optimizer.name) state but the run uses \(config.optimizer.name)")
        }
        return checkpoint
    }

    /// A checkpoint with callback state continues only with the same callbacks (their state means
    /// nothing to others); one without (no callbacks, or an earlier build) starts the config's fresh.
    private static func callbackChanges(_ checkpoint: Checkpoint, path: String, config: ExperimentConfig) throws -> [String] {
        guard checkpoint.callbackState != nil else {
            return config.callbacks.isEmpty ? [] : ["callbacks start fresh (the checkpoint holds no callback state)"]
        }
        guard CallbackRegistry.equal(checkpoint.config.callbacks, config.callbacks) else {
            let names = { (callbacks: [any Callback]) in callbacks.isEmpty ? "none" : callbacks.map(\.name).joined(separator: ", ") }
            throw CheckpointError("\(path) holds the state of other callbacks (\(names(checkpoint.config.callbacks))) than the run's "
                                  + "(\(names(config.callbacks))); resume with the checkpoint's [[callbacks]] and --callback values unchanged")
        }
        return []
    }

    /// The checkpoint's weights, state and optimizer state into the step's buffers.
    private static func restore(_ checkpoint: Checkpoint, into step: DataParallelStep) {
        _ = step.parameters.buffer.update(fromContentsOf: checkpoint.parameters)
        _ = step.state.buffer.update(fromContentsOf: checkpoint.state)
        for (name, buffer) in step.optimizer.state { _ = buffer.buffer.update(fromContentsOf: checkpoint.optimizerState[name]!) }
        step.optimizer.iterations = checkpoint.optimizerIterations
    }

    /// Splits the loaded shard at Keras's `validation_split` point; a split that leaves either part
    /// empty is refused.
    private static func holdOut(_ fraction: Double, of loaded: LabelledImages,
                                directory: String) throws -> (LabelledImages, ShardedEvaluation?) {
        guard fraction > 0, loaded.totalCount > 0 else { return (loaded, nil) }   // an empty file has its own error
        let total = loaded.totalCount, kept = ValidationSplit.trainingCount(of: total, fraction: fraction)
        guard kept > 0 && kept < total else {
            throw TrainingError("validation_split \(fraction) leaves \(kept == 0 ? "no training" : "no validation") sample "
                                + "of the \(total) training samples in \(directory)")
        }
        let (training, validation) = loaded.split(trainingCount: kept)
        return (training, ShardedEvaluation(set: validation))
    }
}
