import ConvNetConfig

/// How to run a training job: the recipe plus where things are and how hard to work.
public struct TrainingOptions: Sendable {
    public var config: ExperimentConfig
    /// Folder with the four IDX files.
    public var dataDirectory: String
    /// Folder receiving `metrics.csv` and the resolved config.
    public var runDirectory: String
    /// Worker threads per process.
    public var threads: Int
    /// Stop after this many optimizer steps in total (the test set is still evaluated).
    public var maxSteps: Int?
    /// Write a `steps.csv` row every this many steps.
    public var logEvery: Int?
    /// Also checkpoint every this many steps (checkpoints are always written after each epoch).
    public var checkpointEvery: Int?
    /// Checkpoints to keep in `RUN_DIR/checkpoints`.
    public var keepCheckpoints: Int = 3
    /// Continue from this checkpoint file.
    public var resumeFrom: String?
    /// Start over in a run folder that already holds a run, removing that run's files.
    public var overwrite = false
    /// Start from these weights (safetensors with Keras names, e.g. exported from Keras) instead of
    /// glorot_uniform.
    public var initialWeights: String?
    /// End the job when one step takes longer than this many seconds; nil: the watchdog's default
    /// rule (the larger of 60 s and 50 median steps); 0: no watchdog.
    public var stepTimeout: Double?
    /// Refuse to start when the run's estimated peak memory exceeds it (`MemoryBudget`); nil: the machine's available memory.
    public var memoryBudget: MemoryBudget?

    public init(config: ExperimentConfig, dataDirectory: String, runDirectory: String, threads: Int,
                maxSteps: Int? = nil, logEvery: Int? = nil) {
        self.config = config
        self.dataDirectory = dataDirectory
        self.runDirectory = runDirectory
        self.threads = threads
        self.maxSteps = maxSteps
        self.logEvery = logEvery
    }

    /// Threads per rank when not given: the machine's cores shared among this node's ranks,
    /// never more than the cores this process may run on (its binding).
    public static func defaultThreads(ranksOnThisNode: Int) -> Int {
        max(1, min(SystemInfo.availableCores(), SystemInfo.onlineCores() / max(1, ranksOnThisNode)))
    }
}
