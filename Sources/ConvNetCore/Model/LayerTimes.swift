#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Wall time spent in each layer's forward and backward pass, accumulated by one worker thread.
public final class LayerTimes: @unchecked Sendable {
    public private(set) var forwardNanoseconds: [UInt64]
    public private(set) var backwardNanoseconds: [UInt64]
    /// Time worker 0 spends per `StepPart`: the whole `gradients` call, and the parts of it outside the layers' passes.
    public private(set) var partNanoseconds = [UInt64](repeating: 0, count: StepPart.allCases.count)

    public init(layers: Int) {
        forwardNanoseconds = [UInt64](repeating: 0, count: layers)
        backwardNanoseconds = [UInt64](repeating: 0, count: layers)
    }

    public func reset() {
        for i in forwardNanoseconds.indices {
            forwardNanoseconds[i] = 0
            backwardNanoseconds[i] = 0
        }
        for i in partNanoseconds.indices { partNanoseconds[i] = 0 }
    }

    /// Monotonic clock in nanoseconds.
    @inline(__always) public static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    @inline(__always) func addForward(_ layer: Int, since start: UInt64) { forwardNanoseconds[layer] &+= LayerTimes.now() &- start }
    @inline(__always) func addBackward(_ layer: Int, since start: UInt64) { backwardNanoseconds[layer] &+= LayerTimes.now() &- start }
    @inline(__always) func add(_ part: StepPart, since start: UInt64) { partNanoseconds[part.rawValue] &+= LayerTimes.now() &- start }
}

/// The parts of a training step outside the layers' passes that `LayerTimes` measures, on worker 0
/// (the caller's thread). The staged pass of a model with batch statistics stops at each such layer.
public enum StepPart: Int, CaseIterable, Sendable {
    /// The whole `ModelRunner.gradients` call.
    case gradients
    /// Copying the share's samples into the workspace.
    case fill
    /// The batch-statistics layers' sums over their inputs (forward) and gradients (backward), worker 0's share.
    case forwardStatistics, backwardStatistics
    /// Summing the threads' partial statistics in thread order and across ranks (`StatisticsReducer`), and the moving averages.
    case statisticsSums
    /// Summing the threads' parameter gradients (`completeLayers`), and the caller's `GradientsCompleted`.
    case threadGradientSums
    /// From a stage's hand-off to worker 0 starting it, and from worker 0's end of it to the last thread's.
    case handOffs, waits

    public var label: String {
        switch self {
        case .gradients: "gradients (the runner's whole call)"
        case .fill: "input copy"
        case .forwardStatistics: "batch statistics sums, forward"
        case .backwardStatistics: "batch statistics sums, backward"
        case .statisticsSums: "statistics gathered and reduced"
        case .threadGradientSums: "thread gradients summed, buckets started"
        case .handOffs: "stage hand-offs"
        case .waits: "waits for the other threads"
        }
    }
}
