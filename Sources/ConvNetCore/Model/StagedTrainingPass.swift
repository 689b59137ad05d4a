extension ModelRunner {
    /// The training pass of a model with batch-statistics layers (see the type's notes): each
    /// thread holds its whole share; the pass stops at every such layer until the statistics of
    /// the global batch are summed.
    func stagedTrainingPass(batchSize: Int, step: StepArguments, state: UnsafeMutablePointer<Float>,
                            fill: BatchFiller, reduce: StatisticsReducer, gradients: UnsafeMutablePointer<Double>,
                            completed: GradientsCompleted?, into perThread: inout [BatchStatistics]) {
        let layerCount = model.layers.count
        let stops = model.fastPaths.indices.filter { model.fastPaths[$0].statisticsCount > 0 }
        for buffer in statistics { buffer.fill(0) }
        func share(_ t: Int) -> Range<Int> { WorkerPool.partition(batchSize, parts: threads, index: t) }
        /// Sums the workers' partial statistics of layer `i` in thread order, then across ranks, into its global buffer.
        func gather(_ i: Int) {
            let count = statistics[i].count, sum = statisticsSum.pointer
            sum.update(repeating: 0, count: count)
            for workspace in workspaces {
                for k in 0..<count { sum[k] += workspace.partialStatistics[i][k] }
            }
            reduce(sum, count)
            for k in 0..<count { statistics[i][k] += sum[k] }
        }
        stage { t in
            let workspace = workspaces[t], range = share(t)
            gradientSums(t, result: gradients).update(repeating: 0, count: model.parameterCount)
            timed(.fill, on: t) { fill(range, workspace.input.pointer, workspace.labels.pointer, workspace.sampleIDs.pointer) }
        }
        var from = 0
        for stop in stops {
            stage { t in
                let workspace = workspaces[t], count = share(t).count
                if from < stop { workspace.forward(model, layers: from..<stop, count: count, step: step, training: true) }
                timed(.forwardStatistics, on: t) {
                    workspace.partialStatistics[stop].fill(0)
                    workspace.backwardStatisticsSamples[stop] = -1
                    model.fastPaths[stop].statistics!.addForwardStatistics(workspace.layerInput(stop), batch: count,
                                                                           into: workspace.partialStatistics[stop].pointer)
                }
            }
            timed(.statisticsSums, on: 0) {
                gather(stop)
                model.fastPaths[stop].statistics!.updateState(state + model.stateOffsets[stop], statistics: statistics[stop].pointer)
            }
            from = stop
        }
        perThread.withUnsafeMutableBufferPointer { results in
            stage { t in
                let workspace = workspaces[t], count = share(t).count
                let output = workspace.forward(model, layers: from..<layerCount, count: count, step: step, training: true)
                results[t] = scoreOutputs(output, workspace: workspace, count: count, backward: true)
            }
        }
        var to = layerCount
        for stop in stops.reversed() {
            // Nothing below a batch norm without parameters, over layers without any, uses its sums.
            let reduces = model.outputGradientNeeded[stop]
            stage { t in
                let workspace = workspaces[t], count = share(t).count
                let sums = gradientSums(t, result: gradients)
                workspace.backward(model, layers: (stop + 1)..<to, count: count, step: step, fusedOutput: fusedOutput,
                                   parameterGradients: sums, shareOffset: 0)
                workspace.addDeferredGradients(model, layers: (stop + 1)..<to, samples: count, parameterGradients: sums)
                if reduces {
                    timed(.backwardStatistics, on: t) {
                        workspace.addBackwardStatistics(model, stop, count: count, step: step, statistics: statistics[stop].pointer)
                    }
                }
            }
            // The statistics first: a caller sending the completed gradients would otherwise put
            // their bytes on the link ahead of the small sum that the next stage waits for.
            if reduces { timed(.statisticsSums, on: 0) { gather(stop) } }
            timed(.threadGradientSums, on: 0) { completeLayers((stop + 1)..<to, gradients: gradients, completed: completed) }
            to = stop + 1
        }
        stage { t in
            let workspace = workspaces[t], sums = gradientSums(t, result: gradients)
            workspace.backward(model, layers: 0..<to, count: share(t).count, step: step, fusedOutput: fusedOutput,
                               parameterGradients: sums, shareOffset: 0)
            workspace.addDeferredGradients(model, layers: 0..<to, samples: share(t).count, parameterGradients: sums)
        }
        timed(.threadGradientSums, on: 0) { completeLayers(0..<to, gradients: gradients, completed: completed) }
    }

    /// `pool.run(body)`; when profiling, also times worker 0's start after the hand-off and its
    /// wait at the end for the other threads.
    private func stage(_ body: (Int) -> Void) {
        guard let times = workspaces[0].times else { return pool.run(body) }
        let start = LayerTimes.now()
        var end: UInt64 = 0
        pool.run { t in
            if t == 0 { times.add(.handOffs, since: start) }
            body(t)
            if t == 0 { end = LayerTimes.now() }
        }
        times.add(.waits, since: end)
    }

    /// `body()`, timed as `part` when thread `t` is worker 0 and profiling.
    @inline(__always)
    private func timed<T>(_ part: StepPart, on t: Int, _ body: () -> T) -> T {
        guard t == 0, let times = workspaces[0].times else { return body() }
        let start = LayerTimes.now()
        defer { times.add(part, since: start) }
        return body()
    }
}
