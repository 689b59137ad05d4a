import ConvNetCore
import ConvNetConfig
import Training
import XCTest

/// `MemoryEstimate` stays true: its figure for a thread's workspace is what a `Workspace` really
/// allocates, for models that exercise every kind of saved, scratch and deferred buffer.
final class MemoryEstimateTests: XCTestCase {
    private let models: [ModelSpec] = [
        .kerasMNIST,
        ModelSpec(inputShape: TensorShape([12, 10, 3]), classes: 4, layers: [
            Conv2D(filters: 6, kernelSize: (3, 3), padding: .same, useBias: false), BatchNorm(), ActivationLayer(.tanh),
            AvgPool2D(window: PoolWindow(size: (2, 2))), Dropout(rate: 0.3), UpSampling2D(size: (2, 3)),
            Conv2D(filters: 5, kernelSize: (5, 5), strides: (2, 2), activation: .relu), GlobalAvgPool2D(),
            Dense(units: 7), BatchNorm(momentum: 0.9), Dense(units: 4, activation: .softmax),
        ]),
        ModelSpec(inputShape: TensorShape([9, 9, 2]), classes: 3, layers: [
            Conv2D(filters: 4, kernelSize: (1, 1), activation: .relu), MaxPool2D(pool: 3), Flatten(), Dropout(rate: 0.5),
            Dense(units: 3, activation: .softmax),
        ]),
        // A graph: a residual add and a three-way concatenation keep per-layer gradient buffers.
        ModelSpec(inputShape: TensorShape([6, 6, 2]), classes: 3, layers: [
            Conv2D(filters: 2, kernelSize: (3, 3), padding: .same, activation: .relu),
            Conv2D(filters: 2, kernelSize: (3, 3), padding: .same), Add(), Concatenate(), Flatten(),
            Dense(units: 3, activation: .softmax),
        ], names: ["stem", nil, nil, nil, nil, nil], inputs: [nil, nil, ["conv2d_1", "stem"], ["add_1", "stem", "conv2d_1"], nil, nil]),
    ]

    func testWorkspaceEstimateIsWhatAWorkspaceAllocates() throws {
        for spec in models {
            let model = try Sequential(spec)
            for (capacity, share) in [(1, 1), (4, 32), (7, 7), (16, 40)] {
                let measured = Double(MemoryEstimate.measuredWorkspaceBytes(model: model, capacity: capacity, shareCapacity: share))
                let estimated = MemoryEstimate.workspaceBytes(model: model, capacity: capacity, shareCapacity: share)
                XCTAssertGreaterThanOrEqual(estimated, measured, "\(model.layerNames) at \(capacity)/\(share)")
                XCTAssertLessThanOrEqual(estimated, measured * 1.01 + 1024, "\(model.layerNames) at \(capacity)/\(share)")
            }
        }
    }

    /// The runner's rule: chunks of up to `chunkSize` samples in a thread's share, whole shares for
    /// batch-norm models; the weights part counts the optimizer's slots and each thread's gradient sums.
    func testRunEstimateFollowsTheRunnersSizingRule() throws {
        let chain = try Sequential(models[0]), batchNorm = try Sequential(models[1])
        let small = MemoryEstimate(model: chain, maxBatch: 64, threads: 2, chunkSize: 4, optimizerSlots: 1)
        XCTAssertEqual(small.chunk, 4)
        XCTAssertEqual(small.activations, 2 * MemoryEstimate.workspaceBytes(model: chain, capacity: 4, shareCapacity: 32))
        XCTAssertEqual(MemoryEstimate(model: chain, maxBatch: 3, threads: 2, chunkSize: 4, optimizerSlots: 1).chunk, 2)
        XCTAssertEqual(MemoryEstimate(model: batchNorm, maxBatch: 64, threads: 2, chunkSize: 4, optimizerSlots: 1).chunk, 32)
        let p = Double(chain.parameterCount)
        XCTAssertGreaterThanOrEqual(small.weights, p * (4 + 4 + 4 + 8 + 2 * 8))   // weights, mean, RMSprop slot, sum, 2 threads' sums
        XCTAssertLessThan(small.weights, p * (4 + 4 + 4 + 8 + 2 * 8) * 1.5)
        XCTAssertEqual(try OptimizerSpec(named: "adam", key: "k").make(parameterCount: 1).state.count, 2)
    }

    /// The documented maximum batch on 300 samples sizes a run for 300, not for 1,048,576.
    func testBuffersFollowTheSamplesNotTheBatchSize() {
        XCTAssertEqual(DataParallelStep.samplesPerRank(batchSize: 1 << 20, trainingCount: 300, ranks: 1), 300)
        XCTAssertEqual(DataParallelStep.samplesPerRank(batchSize: 1 << 20, trainingCount: 300, ranks: 4), 75)
        XCTAssertEqual(DataParallelStep.samplesPerRank(batchSize: 64, trainingCount: 60_000, ranks: 3), 22)
        XCTAssertEqual(DataParallelStep.samplesPerRank(batchSize: 64, trainingCount: 60_000, ranks: 1), 64)
    }

    /// Shapes from configs that would overflow are counted as too large, not trapped on.
    func testHugeShapesEstimateWithoutOverflow() throws {
        XCTAssertEqual(TensorShape([1 << 40, 1 << 40, 3]).count, Int.max)
        let model = try Sequential(ModelSpec(inputShape: TensorShape([65536, 65536, 3]), classes: 2,
                                             layers: [GlobalAvgPool2D(), Dense(units: 2, activation: .softmax)]))
        var estimate = MemoryEstimate(model: model, maxBatch: 1 << 20, threads: 16, chunkSize: 1 << 20, optimizerSlots: 2)
        estimate.addData(samples: 1 << 40, sampleSize: model.inputShape.count)
        XCTAssertGreaterThan(estimate.total, 1e20)
        XCTAssertThrowsError(try MemoryBudget(bytes: 0x1p34, source: "test").check(estimate, advice: "x"))
    }

    func testSizesAndTheirFigures() {
        XCTAssertEqual(MemoryBudget.parseSize("8G"), 8 * 1_073_741_824)
        XCTAssertEqual(MemoryBudget.parseSize("512m"), 512 * 1_048_576)
        XCTAssertEqual(MemoryBudget.parseSize("1.5GiB"), 1.5 * 1_073_741_824)
        XCTAssertEqual(MemoryBudget.parseSize("1000000"), 1_000_000)
        for bad in ["", "G", "-1G", "0", "lots", "nan", "1e999"] { XCTAssertNil(MemoryBudget.parseSize(bad), bad) }
        XCTAssertEqual(MemoryEstimate.format(14.25 * 1_073_741_824), "14.3 GiB")
        XCTAssertEqual(MemoryEstimate.format(100), "100 bytes")
        XCTAssertGreaterThan(MemoryBudget.machine().bytes, 0)
    }

    func testTheRefusalNamesTheFigureAndTheLimit() {
        var estimate = MemoryEstimate()
        (estimate.weights, estimate.activations, estimate.data, estimate.chunk) = (0.2 * 0x1p30, 12.9 * 0x1p30, 1.1 * 0x1p30, 64)
        let budget = MemoryBudget(bytes: 11.3 * 0x1p30, source: "--max-memory, default: the machine's available memory")
        XCTAssertThrowsError(try budget.check(estimate, advice: "lower --batch-size")) { error in
            XCTAssertEqual("\(error)", "this run needs about 14.2 GiB (activations 12.9 GiB for chunks of 64 samples, data 1.1 GiB, "
                           + "weights 204.8 MiB); the limit is 11.3 GiB (--max-memory, default: the machine's available memory): "
                           + "lower --batch-size, or raise --max-memory")
        }
        XCTAssertNoThrow(try MemoryBudget(bytes: 15 * 0x1p30, source: "x").check(estimate, advice: "y"))
    }
}
