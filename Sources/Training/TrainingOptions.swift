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

    public init(config: ExperimentConfig, dataDirectory: String, runDirectory: String, threads: Int,
                maxSteps: Int? = nil) {
        self.config = config
        self.dataDirectory = dataDirectory
        self.runDirectory = runDirectory
        self.threads = threads
        self.maxSteps = maxSteps
    }
}
