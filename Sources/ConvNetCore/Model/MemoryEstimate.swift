/// The bytes a run will hold at its peak, worked out from the model's shapes before anything is
/// allocated, so that a run too large for the machine is refused with the figure instead of dying
/// in `malloc` (or in the kernel's out-of-memory killer) halfway through its allocations.
///
/// The parts:
/// - `weights`: parameters, their Double gradient sums and Float mean, the optimizer's state
///   (`optimizerSlots` floats per parameter), the non-trainable state, the layers' prepared
///   parameters, and with several threads each thread's own Double gradient sums;
/// - `activations`: every thread's `Workspace` for chunks of `chunk` samples (outputs, saved and
///   scratch floats, the backward gradients, the deferred weight gradients of its share);
/// - `data`: the samples this rank holds (one byte per value, as `LabelledImages` keeps them) and
///   its buffers for exchanging samples with other ranks.
///
/// Every figure is a Double: the products of hostile shapes must give a figure to refuse, not an
/// overflow trap. Layers report `savedCount` and `scratchCount` for a batch; both are affine in
/// the batch (a per-sample part and a fixed part), so they are asked for 1 and 2 samples, where
/// they cannot overflow, and extended in Double (`MemoryEstimateTests` holds this to the bytes a
/// runner really allocates).
public struct MemoryEstimate: Sendable, Equatable {
    public var weights: Double = 0
    public var activations: Double = 0
    public var data: Double = 0
    /// Samples per forward/backward pass in each thread (the whole share for batch-norm models).
    public var chunk = 0

    public init() {}

    public var total: Double { weights + activations + data }

    /// The model's part: a `DataParallelStep` (optimizer, gradients) around a `ModelRunner` for
    /// batches of up to `maxBatch` samples on `threads` threads in chunks of `chunkSize`.
    public init(model: Sequential, maxBatch: Int, threads: Int, chunkSize: Int, optimizerSlots: Int) {
        let share = (max(maxBatch, 1) + threads - 1) / threads
        // ModelRunner's rule: a thread runs its share in chunks, or whole where batches synchronise.
        chunk = model.synchronisesBatches ? share : min(chunkSize, share)
        let parameters = Double(model.parameterCount), paths = model.fastPaths
        let prepared = Double(paths.reduce(0) { $0 + $1.preparedCount })
        let statistics = Double(paths.reduce(0) { $0 + $1.statisticsCount } + (paths.map(\.statisticsCount).max() ?? 0))
        weights = 4 * parameters * Double(2 + optimizerSlots) + 8 * (parameters + 4) + 4 * Double(model.stateCount)
            + 4 * prepared + 8 * statistics + (threads > 1 ? 8 * parameters * Double(threads) : 0)
        activations = Double(threads) * Self.workspaceBytes(model: model, capacity: chunk, shareCapacity: share)
    }

    /// Bytes of one thread's `Workspace` for `capacity` samples at a time in a share of `shareCapacity`.
    public static func workspaceBytes(model: Sequential, capacity: Int, shareCapacity: Int) -> Double {
        workspaceParts(model: model, capacity: capacity, shareCapacity: shareCapacity).total
    }

    /// `workspaceBytes` by what holds it, for `bench`'s memory line.
    public struct WorkspaceParts: Sendable, Equatable {
        /// Every layer's output for `capacity` samples (none for a batch norm its add runs, `NormalizationFolding`).
        public var outputs: Double = 0
        /// What layers keep from forward for backward (`savedCount`, e.g. an im2col matrix).
        public var saved: Double = 0
        /// The gradients flowing backward: two ping-pong buffers of the widest layer in a chain,
        /// the shared slots of its `GradientBufferPlan` in a graph.
        public var gradients: Double = 0
        /// The model input, the largest layer scratch, deferred weight gradients, labels, sample IDs
        /// and batch statistics.
        public var other: Double = 0

        public var total: Double { outputs + saved + gradients + other }
    }

    /// One thread's `Workspace` for `capacity` samples at a time in a share of `shareCapacity`, by part.
    public static func workspaceParts(model: Sequential, capacity: Int, shareCapacity: Int) -> WorkspaceParts {
        let layers = model.layers, samples = Double(capacity)
        /// `count(b)` for b = `capacity`, from its values at 1 and 2 (see the type's notes).
        func affine(_ count: (Int) -> Int) -> Double {
            let one = Double(count(1)), two = Double(count(2))
            return one + (samples - 1) * (two - one)
        }
        let deferred = Double(shareCapacity) * Double(model.fastPaths.reduce(0) { $0 + $1.deferredCountPerSample })
        let outputs = layers.indices.reduce(0.0) { total, i in
            model.normalizationFolding.foldedInto[i] != nil ? total : total + Double(layers[i].outputShape.count)   // never written
        }
        let saved = layers.reduce(0.0) { total, layer in total + affine { layer.savedCount(batch: $0) } }
        let scratch = layers.map { layer in affine { layer.scratchCount(batch: $0) } }.max() ?? 0
        let widest = Double(layers.map { max($0.inputShape.count, $0.outputShape.count) }.max() ?? 0)
        // A chain passes its gradient between two buffers of the widest layer; a graph holds the
        // slots of its `GradientBufferPlan`.
        let gradients = model.graph.isChain ? 2 * widest
            : Double(GradientBufferPlan(model: model).floatsPerSample)
        let statistics = Double(model.fastPaths.reduce(0) { $0 + $1.statisticsCount })
        var parts = WorkspaceParts()
        parts.outputs = 4 * samples * outputs
        parts.saved = 4 * saved
        parts.gradients = 4 * samples * gradients
        // + labels (Int32), sample IDs (Int64)
        parts.other = 4 * (deferred + samples * Double(model.inputShape.count) + scratch) + samples * (4 + 8) + 8 * statistics
        return parts
    }

    /// Adds `samples` samples of `sampleSize` values held in memory as bytes.
    public mutating func addData(samples: Int, sampleSize: Int) {
        data += Double(samples) * Double(sampleSize + 1)   // pixels and a label
    }

    /// "14.2 GiB (activations 12.9 GiB for chunks of 64 samples, data 1.1 GiB, weights 0.2 GiB)".
    public var description: String {
        "\(Self.format(total)) (activations \(Self.format(activations)) for chunks of \(chunk) sample\(chunk == 1 ? "" : "s"), "
            + "data \(Self.format(data)), weights \(Self.format(weights)))"
    }

    /// Bytes in binary units with one decimal: "512.0 MiB", "14.2 GiB".
    public static func format(_ bytes: Double) -> String {
        let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var value = bytes, unit = 0
        while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
        if unit == 0 { return "\(Int(value)) bytes" }
        let tenths = (value * 10).rounded()
        return value < 1e6 ? "\(Int(tenths) / 10).\(Int(tenths) % 10) \(units[unit])" : "\(value) \(units[unit])"
    }
}

extension Workspace {
    /// Bytes this workspace allocated, for tests that hold `MemoryEstimate` to the truth.
    var allocatedBytes: Int {
        let floats = deferred.reduce(0) { $0 + $1.count } + input.count + activations.reduce(0) { $0 + $1.count }
            + saved.reduce(0) { $0 + $1.count } + scratch.count + gradientIn.count + gradientOut.count + (graph?.allocatedFloats ?? 0)
        return 4 * floats + 4 * labels.count + 8 * sampleIDs.count + 8 * partialStatistics.reduce(0) { $0 + $1.count }
    }
}

extension MemoryEstimate {
    /// Bytes a `Workspace` really allocates for `capacity` samples in a share of `shareCapacity`
    /// (allocates one, briefly): what `workspaceBytes` must match.
    public static func measuredWorkspaceBytes(model: Sequential, capacity: Int, shareCapacity: Int) -> Int {
        Workspace(model: model, capacity: capacity, shareCapacity: shareCapacity).allocatedBytes
    }
}
