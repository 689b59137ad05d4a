import ArgumentParser
import Communication
import ConvNetConfig
import ConvNetCore
import ConvNetData
import DataFormats
import Datasets
import Foundation
import Training

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model and evaluate it after each epoch (on the test set, and on the held-out samples with --validation-split).",
        discussion: """
            Examples:
              convnet-dist train --data-dir data/mnist
              convnet-dist train --config configs/mnist.toml --epochs 1 --threads 2
              CONVNET_DATA_DIR=/data/mnist convnet-dist train --max-steps 300
            """)

    @OptionGroup var experiment: ExperimentOptions

    @OptionGroup var data: DataOptions

    @Option(help: "Folder for metrics.csv and the resolved config. Default: runs/<timestamp>.")
    var runDir: String?

    @OptionGroup var compute: ThreadOptions

    @OptionGroup var memory: MemoryOptions

    @Option(parsing: .unconditional, help: "Also write a row to RUN_DIR/steps.csv every N optimizer steps.")
    var logEvery: Int?

    @Flag(help: "Also write TensorBoard events files to RUN_DIR/tensorboard (train/, validation/, test/), as [logging] tensorboard = true.")
    var tensorboard = false

    @Option(parsing: .unconditional, help: "Also checkpoint every N optimizer steps (a checkpoint is always written after each epoch).")
    var checkpointEvery: Int?

    @Option(name: .customLong("callback"), help: ArgumentHelp("A Keras callback, as a [[callbacks]] table: TYPE:KEY=VALUE,... (e.g. early_stopping:patience=5,monitor=val_accuracy); TYPE is \(CallbackRegistry.registry.names.joined(separator: ", ")). Repeat for several; they replace the config's [[callbacks]].",
                                                              valueName: "SPEC"))
    var callbacks: [String] = []

    @Option(parsing: .unconditional, help: "Checkpoints to keep in RUN_DIR/checkpoints.")
    var keep: Int = 3

    @Option(help: ArgumentHelp("Continue a run: alone, from the latest checkpoint of --run-dir; or from the checkpoint file PATH.",
                               valueName: "PATH"))
    var resume: String?

    @Flag(help: "Start over in a --run-dir that already holds a run, removing that run's files (config, metrics, checkpoints, model).")
    var overwrite = false

    @Option(help: ArgumentHelp("Start from the weights in this safetensors file (Keras names and layouts, e.g. conv2d_1.kernel) instead of glorot_uniform.",
                               valueName: "PATH"))
    var initialWeights: String?

    @Flag(help: "Print only the epoch lines (and how to resume after a stop).")
    var quiet = false

    @Flag(help: "Print progress, epochs and messages as JSON lines.")
    var jsonLogs = false

    @Flag(help: "Print the resolved config (the file or built-in recipe with flags applied) as TOML and exit.")
    var printConfig = false

    @Flag(help: "Download the data set into --data-dir first if its files are missing.")
    var download = false

    static let latestCheckpoint = "latest"

    /// Set once by `CommandLineTool.main` before parsing; nil in the user's binary.
    nonisolated(unsafe) static var hooks: (any TrainingHooks)?

    @Option(parsing: .unconditional, help: "Stop after this many optimizer steps in total (smoke runs); the test set is still evaluated.")
    var maxSteps: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("End the job (exit status \(StepWatchdog.exitStatus)) when one step, waits for peers included, takes longer than S seconds; 0 turns the watchdog off. Default: the larger of 60 s and 50 median steps.",
                               valueName: "S"))
    var stepTimeout: Double?

    func validate() throws {
        if let maxSteps, maxSteps < 1 { throw ValidationError("--max-steps must be at least 1, got \(maxSteps)") }
        if let logEvery, logEvery < 1 { throw ValidationError("--log-every must be at least 1, got \(logEvery)") }
        if let checkpointEvery, checkpointEvery < 1 { throw ValidationError("--checkpoint-every must be at least 1, got \(checkpointEvery)") }
        if let stepTimeout, !(0...StepWatchdog.maximumTimeout).contains(stepTimeout) {
            throw ValidationError("--step-timeout must be between 0 (off) and \(Int(StepWatchdog.maximumTimeout)) seconds (a week)")
        }
        if keep < 1 { throw ValidationError("--keep must be at least 1, got \(keep)") }
        if quiet && jsonLogs { throw ValidationError("--quiet and --json-logs exclude each other") }
        if resume != nil && initialWeights != nil { throw ValidationError("--initial-weights and --resume exclude each other") }
        if resume == "" { throw ValidationError("--resume \"\" names no checkpoint: give --resume PATH, or --resume alone for the latest checkpoint of --run-dir") }
        if runDir == "" { throw ValidationError("--run-dir is empty; give a folder, or leave the flag out for runs/<timestamp>") }
        if initialWeights == "" { throw ValidationError("--initial-weights is empty; give a safetensors file") }
        if resume != nil && overwrite { throw ValidationError("--overwrite and --resume exclude each other") }
        if resume == Train.latestCheckpoint && runDir == nil {
            throw ValidationError("--resume without a path continues the run in --run-dir DIR; give --run-dir")
        }
    }

    func run() throws {
        if printConfig {
            try reportingErrors {
                var config = try withCallbacks(experiment.resolve())
                if tensorboard { config.tensorboard = true }
                print(config.tomlText, terminator: "")
            }
            return
        }
        let communicator = makeCommunicator()
        runOnEveryRank(communicator) {
            let runDirectory = runDir ?? defaultRunDirectory()
            let checkpoint = try resume.map { resume in
                resume == Train.latestCheckpoint ? try CheckpointStore(runDirectory: runDirectory, keep: keep).latest() : resume
            }
            // A resumed run keeps its recipe; flags still override single values (e.g. more --epochs).
            let base = try checkpoint.map { try Checkpoint.load(path: $0).config }
            var config = try withCallbacks(experiment.resolve(base: base))
            if let format = data.dataFormat { config.dataFormat = format }
            if tensorboard { config.tensorboard = true }
            let dataDirectory = data.directory(for: config)
            if download {
                guard DatasetCatalog.all.contains(where: { $0.format == config.dataFormat }) else {
                    throw ValidationError("--download fetches IDX or CIFAR-10 files; the run reads \(config.dataFormat)")
                }
                try fetchData(config.dataset, format: config.dataFormat, into: dataDirectory, communicator: communicator)
            }
            var options = TrainingOptions(
                config: config, dataDirectory: dataDirectory, runDirectory: runDirectory,
                threads: compute.perRank(communicator),
                maxSteps: maxSteps, logEvery: logEvery)
            options.checkpointEvery = checkpointEvery
            options.keepCheckpoints = keep
            options.resumeFrom = checkpoint
            options.overwrite = overwrite
            options.initialWeights = initialWeights
            options.stepTimeout = stepTimeout
            options.memoryBudget = try memory.budget(communicator)
            let trainer = try Trainer(options: options, communicator: communicator, progress: style(communicator), hooks: Train.hooks)
            // Only now does a first Ctrl-C mean "checkpoint and stop": while loading, it simply ends the process.
            StopRequest.install()
            if checkpoint == nil { trainer.progress.message(trainer.model.summary()) }
            let heldOut = trainer.validation.map { " (\($0.totalCount) more held out for validation)" } ?? ""
            trainer.progress.message("Training on \(trainer.training.totalCount) samples\(heldOut): \(communicator.size) rank(s) x "
                                     + "\(options.threads) thread(s), global batch \(options.config.batchSize)"
                                     + (options.config.accumulationSteps > 1
                                        ? " in \(options.config.accumulationSteps) micro-batches of \(trainer.step.microBatchSize)" : "") + "; "
                                     + "run folder \(options.runDirectory)")
            if options.config.tensorboard {
                trainer.progress.message("TensorBoard events files in \(options.runDirectory)/tensorboard: tensorboard --logdir \(options.runDirectory)/tensorboard")
            }
            try trainer.run()
        }
    }

    /// The config with the `--callback` flags in place of its `[[callbacks]]`, when there are some.
    private func withCallbacks(_ config: ExperimentConfig) throws -> ExperimentConfig {
        guard !callbacks.isEmpty else { return config }
        var config = config
        config.callbacks = try callbacks.map(ExperimentConfig.callback(flag:))
        try config.validate()
        return config
    }

    private func style(_ communicator: any Communicator) -> ProgressReporter.Style {
        if quiet { return .quiet }
        if jsonLogs { return .json }
        // mpirun hands ranks a pseudo-terminal even when its own output is a file: plain lines then.
        return communicator.size > 1 ? .plain : ProgressReporter.automaticStyle()
    }

    /// Rank 0 downloads what is missing; the others wait for it (the folder must be shared).
    private func fetchData(_ dataset: String, format: String, into directory: String, communicator: any Communicator) throws {
        if communicator.isRoot && !((try? DataFormat.files(format: format, directory: directory).isComplete) ?? false) {
            guard let description = DatasetCatalog.named(dataset), description.format == format else {
                throw ValidationError("--download knows \(DatasetCatalog.all.map { "\($0.name) (\($0.format))" }.joined(separator: ", ")), not \(dataset) (\(format))")
            }
            try Downloader(dataset: description, directory: directory).run()
        }
        communicator.barrier()
    }

    private func defaultRunDirectory() -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        formatter.locale = Locale(identifier: "en_US_POSIX")
        return "runs/" + formatter.string(from: Date())
    }
}
