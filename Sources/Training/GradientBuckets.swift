import Communication
import ConvNetConfig
import ConvNetCore
import Foundation

/// The step's gradient allreduce in buckets, started while the backward pass goes on (as PyTorch
/// DDP's buckets and Horovod's tensor fusion do), so the sending hides behind the computing.
///
/// Boundaries: whole layers, walked from the last to the first (the order the backward pass
/// completes them), cut where a bucket reaches `bucketParameters`; they depend on the model only,
/// so every rank starts the same sums in the same order. A bucket is the slice of the one
/// contiguous buffer of Double sums it covers, summed in place (`float64`), or rounded to Float
/// in a buffer of its own, summed in Float and widened back (`float32`, half the bytes).
///
/// The runner tells which gradient sums are complete (`ModelRunner.gradients`' `completed`); a
/// bucket starts once all of its sums are, and every call lets the started ones progress (MPI
/// moves their data only inside its calls). `finish` starts what is left, sums the step's
/// counters and waits for everything, before the optimizer reads the sums. In Double the bits of
/// every sum are those of one allreduce of the whole buffer: element-wise sums over the same ranks.
///
/// Pacing: where batch norm stops the backward pass, each call comes right after a statistics
/// sum, and the next such sum, small and waited for, travels on the same connection behind
/// whatever bytes are still queued. So one call starts complete buckets only until it has started
/// `bucketParameters` (at least one bucket); the others wait for the next call. The calls come
/// in the same order on every rank, so every rank starts the same sums in the same order.
public final class GradientBuckets {
    /// Parameters per bucket: 64 KiB of Double sums (about what 1 Gbit/s carries in 0.5 ms, so a
    /// piece started after one statistics sum has left before the next one, and the last bucket,
    /// which waits for the end of the backward pass, stays small; a bucket takes whole layers until
    /// it holds this many or more), or `$CONVNET_BUCKET_PARAMETERS` (the tests cut small models into many).
    public static let bucketParameters: Int = {
        guard let text = ProcessInfo.processInfo.environment["CONVNET_BUCKET_PARAMETERS"], let value = Int(text), value >= 1 else {
            return 8_192
        }
        return value
    }()

    /// Parameter ranges in the order they are started: descending, contiguous, covering all.
    public let buckets: [Range<Int>]
    /// Parameters one `completed` call starts at most (past the first bucket it starts).
    private let pace: Int
    private let communicator: any Communicator
    /// The rounded sums of `float32` buckets.
    private let floats: FloatBuffer?
    private var sums: UnsafeMutablePointer<Double>?
    private var started = 0
    /// Nanoseconds this step spent inside the communicator's gradient calls (starting, progressing,
    /// waiting): the communication the backward pass did not hide.
    private(set) var nanoseconds: UInt64 = 0

    init(model: Sequential, dtype: AllreduceDType, bucketParameters: Int, communicator: any Communicator) {
        precondition(bucketParameters >= 1)
        self.communicator = communicator
        // Every rank must cut the same buckets, and each read its own environment: rank 0's size wins
        // (a Float holds whole numbers exactly up to 2^24).
        var agreed = Float(min(bucketParameters, 1 << 24))
        communicator.broadcast(&agreed, count: 1, root: 0)
        pace = Int(agreed)
        buckets = GradientBuckets.boundaries(parameterOffsets: model.parameterOffsets, count: model.parameterCount,
                                             bucketParameters: pace)
        floats = dtype == .float32 ? FloatBuffer(count: max(model.parameterCount, 1)) : nil
    }

    /// Whole layers from the last, cut once a bucket holds at least `bucketParameters`; the first
    /// layers' remainder is a bucket of its own.
    public static func boundaries(parameterOffsets: [Int], count: Int, bucketParameters: Int) -> [Range<Int>] {
        var result: [Range<Int>] = [], upper = count
        for offset in parameterOffsets.reversed() where upper - offset >= bucketParameters {
            result.append(offset..<upper)
            upper = offset
        }
        if upper > 0 { result.append(0..<upper) }
        return result
    }

    /// A new step writing its sums to `sums`.
    func begin(sums: UnsafeMutablePointer<Double>) {
        self.sums = sums
        started = 0
        nanoseconds = 0
    }

    /// The sums from `range.lowerBound` up are complete: starts the buckets that now are, up to
    /// the pace (see the type's notes).
    func completed(_ range: Range<Int>) {
        let start = LayerTimes.now()
        startBuckets(from: range.lowerBound, upTo: pace)
        communicator.progressSums()
        nanoseconds += LayerTimes.now() - start
    }

    /// Starts the buckets not yet started and `counters` (Double, always), and waits for them all.
    func finish(counters: UnsafeMutablePointer<Double>, count: Int) {
        let start = LayerTimes.now()
        startBuckets(from: 0, upTo: .max)
        communicator.startSum(counters, count: count, of: .float64)
        communicator.waitForSums()
        if let floats, let sums {
            for bucket in buckets {
                for i in bucket { sums[i] = Double(floats[i]) }
            }
        }
        nanoseconds += LayerTimes.now() - start
    }

    /// Starts the next buckets lying at `lowerBound` or above, in order, until `parameters` have started.
    private func startBuckets(from lowerBound: Int, upTo parameters: Int) {
        var left = parameters
        while left > 0 && started < buckets.count && buckets[started].lowerBound >= lowerBound {
            startBucket(buckets[started])
            left -= buckets[started].count
            started += 1
        }
    }

    private func startBucket(_ bucket: Range<Int>) {
        guard let sums, !bucket.isEmpty else { return }
        if let floats {
            for i in bucket { floats[i] = Float(sums[i]) }
            communicator.startSum(floats.pointer + bucket.lowerBound, count: bucket.count, of: .float32)
        } else {
            communicator.startSum(sums + bucket.lowerBound, count: bucket.count, of: .float64)
        }
    }
}
