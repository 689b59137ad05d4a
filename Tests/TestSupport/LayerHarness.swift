import ConvNetCore

/// Runs one bound layer on its own, as the runner would: forward (with the whole batch's statistics
/// for batch-norm-like layers in training), then backward. For gradient checks, golden comparisons
/// and kernel tests.
public struct LayerHarness {
    public let layer: any Layer
    public var parameters: [Float]
    public var state: [Float]
    public var training: Bool
    public var globalStep = 0
    public var seed: UInt64 = 1
    /// Sample identities (dropout); defaults to 0, 1, 2, ...
    public var sampleIDs: [Int64] = Array(0..<4096)
    /// Lets the layer defer its weight gradient (`DeferredWeightGradients`), as the runner does,
    /// and adds it after `backward`.
    public var deferWeightGradients = false

    public init(_ layer: any Layer, parameters: [Float], state: [Float]? = nil, training: Bool = false) {
        precondition(parameters.count == layer.parameterCount, "\(parameters.count) parameters for a layer with \(layer.parameterCount)")
        self.layer = layer
        self.parameters = parameters
        self.state = state ?? LayerHarness.initialState(layer)
        self.training = training
    }

    public static func initialState(_ layer: any Layer) -> [Float] {
        layer.stateTensors.flatMap { [Float](repeating: $0.initializer == .ones ? 1 : 0, count: $0.count) }
    }

    public struct Result {
        public var y: [Float]
        public var dx: [Float]
        public var parameterGradients: [Double]
        /// The global-batch statistics the layer saw (empty for most layers).
        public var statistics: [Double]
    }

    /// Forward over `x` (`batch` samples), then, when `dy` is given, backward.
    public func run(_ x: [Float], batch: Int, dy: [Float]? = nil, outputGradientIsPreActivation: Bool = false,
                    inputReLUBackward: Bool = false) -> Result {
        var saved = [Float](repeating: 0, count: max(1, layer.savedCount(batch: batch)))
        var scratch = [Float](repeating: 0, count: max(1, layer.scratchCount(batch: batch)))
        let prepared = layer.prepared(parameters: parameters)
        let paths = LayerFastPaths(layer)
        var statistics = [Double](repeating: 0, count: max(1, paths.statisticsCount))
        var y = [Float](repeating: 0, count: batch * layer.outputShape.count)
        // NaN, not 0: backward must overwrite every element of dx (the runner's buffers hold the last pass's).
        var dx = [Float](repeating: .nan, count: x.count)
        var dw = [Double](repeating: 0, count: max(1, layer.parameterCount))
        let sync = training ? paths.statistics : nil
        let parameters = self.parameters + [0], state = self.state + [0], ids = sampleIDs
        sync?.addForwardStatistics(x, batch: batch, into: &statistics)
        saved.withUnsafeMutableBufferPointer { s in
            scratch.withUnsafeMutableBufferPointer { t in
                prepared.withUnsafeBufferPointer { p in
                    state.withUnsafeBufferPointer { st in
                        ids.withUnsafeBufferPointer { idp in
                            let (savedBase, scratchBase) = (s.baseAddress!, t.baseAddress!)
                            let memory = { (stats: UnsafePointer<Double>) in
                                LayerMemory(saved: savedBase, scratch: scratchBase, prepared: p.baseAddress!,
                                            state: st.baseAddress!, statistics: stats)
                            }
                            var context = PassContext(training: training, globalStep: globalStep, seed: seed, sampleIDs: idp.baseAddress!)
                            statistics.withUnsafeBufferPointer { stats in
                                layer.forward(x, &y, batch: batch, parameters: parameters, memory: memory(stats.baseAddress!), context: context)
                            }
                            guard var gradient = dy else { return }
                            if let sync {
                                var backward = [Double](repeating: 0, count: statistics.count)
                                sync.addBackwardStatistics(x: x, dy: gradient, batch: batch, statistics: statistics, into: &backward)
                                for i in statistics.indices { statistics[i] += backward[i] }
                            }
                            context.outputGradientIsPreActivation = outputGradientIsPreActivation
                            context.inputReLUBackward = inputReLUBackward
                            var deferred = [Float](repeating: .nan, count: deferWeightGradients ? batch * paths.deferredCountPerSample : 0)
                            deferred.withUnsafeMutableBufferPointer { deferred in
                                statistics.withUnsafeBufferPointer { stats in
                                    var layerMemory = memory(stats.baseAddress!)
                                    layerMemory.deferred = deferred.isEmpty ? nil : deferred.baseAddress!
                                    layer.backward(x: x, y: y, dy: &gradient, dx: &dx, batch: batch, parameters: parameters,
                                                   gradients: &dw, memory: layerMemory, context: context)
                                }
                                if !deferred.isEmpty {
                                    paths.deferred!.addDeferredGradients(samples: batch, deferred: deferred.baseAddress!, gradients: &dw)
                                }
                            }
                        }
                    }
                }
            }
        }
        return Result(y: y, dx: dx, parameterGradients: Array(dw.prefix(layer.parameterCount)),
                      statistics: Array(statistics.prefix(paths.statisticsCount)))
    }

    /// The state after one training step's update from the statistics of `x`.
    public func stateAfterTraining(on x: [Float], batch: Int) -> [Float] {
        let layer = LayerFastPaths(self.layer).statistics!
        var statistics = [Double](repeating: 0, count: max(1, layer.statisticsCount))
        layer.addForwardStatistics(x, batch: batch, into: &statistics)
        var updated = state + [0]
        layer.updateState(&updated, statistics: statistics)
        return Array(updated.prefix(state.count))
    }
}

extension Layer {
    /// Binds a described layer for a test, failing loudly.
    public func boundForTest(_ dimensions: [Int]) -> Self { try! bound(to: TensorShape(dimensions)) }
}
