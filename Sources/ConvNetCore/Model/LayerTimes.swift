#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Wall time spent in each layer's forward and backward pass, accumulated by one worker thread.
public final class LayerTimes: @unchecked Sendable {
    public private(set) var forwardNanoseconds: [UInt64]
    public private(set) var backwardNanoseconds: [UInt64]

    public init(layers: Int) {
        forwardNanoseconds = [UInt64](repeating: 0, count: layers)
        backwardNanoseconds = [UInt64](repeating: 0, count: layers)
    }

    public func reset() {
        for i in forwardNanoseconds.indices {
            forwardNanoseconds[i] = 0
            backwardNanoseconds[i] = 0
        }
    }

    /// Monotonic clock in nanoseconds.
    @inline(__always) public static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    @inline(__always) func addForward(_ layer: Int, since start: UInt64) { forwardNanoseconds[layer] &+= LayerTimes.now() &- start }
    @inline(__always) func addBackward(_ layer: Int, since start: UInt64) { backwardNanoseconds[layer] &+= LayerTimes.now() &- start }
}
