extension ModelRunner {
    /// Runs `body(slice)` once per runner thread, all at once, and returns when every call is done:
    /// the parallel API for element-wise work on the flat parameters between passes (a gradient's
    /// mean, an optimizer's update). Thread `t` gets `parameterSlice(t)`; allocates nothing.
    public func forEachParameterSlice(_ body: (Range<Int>) -> Void) {
        pool.run { body(parameterSlice($0)) }
    }

    /// As `forEachParameterSlice`; true when every call returned true.
    public func allParameterSlices(_ body: (Range<Int>) -> Bool) -> Bool {
        pool.all { body(parameterSlice($0)) }
    }

    /// Thread `t`'s part of `0..<model.parameterCount`: the slices are contiguous, cover every
    /// parameter once, do not change between calls, and end at multiples of 16 floats (one cache
    /// line), so no two threads write to one line.
    public func parameterSlice(_ t: Int) -> Range<Int> {
        let count = model.parameterCount
        let lines = WorkerPool.partition((count + 15) / 16, parts: threads, index: t)
        return min(lines.lowerBound * 16, count)..<min(lines.upperBound * 16, count)
    }
}
