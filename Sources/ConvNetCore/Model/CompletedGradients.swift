import CKernels

/// Told, on the caller's thread during `ModelRunner.gradients`, that the caller's gradient sums of
/// parameters `range` are complete (every thread's samples added, in thread order) and will not be
/// written again in this call. The ranges come in descending order, contiguous, and cover every
/// parameter by the time `gradients` returns; a caller may start sending them while the backward
/// pass goes on below them.
public typealias GradientsCompleted = (_ range: Range<Int>) -> Void

extension ModelRunner {
    /// After every thread's backward pass over `layers` (and their deferred gradients): sums the
    /// threads' gradients of those layers' parameters into `gradients` and tells `completed`.
    /// Summing a slice early gives the bits of the whole sum: it is element-wise, in thread order.
    func completeLayers(_ layers: Range<Int>, gradients: UnsafeMutablePointer<Double>, completed: GradientsCompleted?) {
        let offsets = model.parameterOffsets
        let lower = layers.lowerBound < offsets.count ? offsets[layers.lowerBound] : model.parameterCount
        let upper = layers.upperBound < offsets.count ? offsets[layers.upperBound] : model.parameterCount
        guard lower < upper else { return }
        if threads > 1 {
            let parts = threadGradients
            pool.run { t in
                let slice = WorkerPool.partition(upper - lower, parts: threads, index: t)
                ck_sum_in_order(parts, Int32(parts.count), lower + slice.lowerBound, slice.count, gradients)
            }
        }
        completed?(lower..<upper)
    }
}
