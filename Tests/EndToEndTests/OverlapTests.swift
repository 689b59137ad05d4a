import Communication
import ConvNetConfig
import ConvNetCore
import Foundation
import SafeTensors
import TestSupport
import Training
import XCTest

/// The gradient allreduce in buckets started during the backward pass (`GradientBuckets`): the
/// buckets start while batch norm's backward statistics are still being summed, cover every
/// gradient once in descending order, and change no bit for any rank count and bucket size.
final class OverlapTests: XCTestCase {
    private let residualConfig = SharedData.packageRoot.appendingPathComponent("configs/residual-mnist.toml").path

    /// One process that records the collectives it is asked for (sums are the identity).
    private final class RecordingCommunicator: Communicator, @unchecked Sendable {
        enum Event: Equatable { case allreduce(count: Int), start(offset: Int, count: Int, type: SumType), progress, wait }
        var events: [Event] = []
        var base: UnsafeMutableRawPointer?
        var rank: Int { 0 }
        var size: Int { 1 }
        var localSize: Int { 1 }
        func allreduceSum(_ buffer: UnsafeMutablePointer<Double>, count: Int) { events.append(.allreduce(count: count)) }
        func startSum(_ buffer: UnsafeMutableRawPointer, count: Int, of type: SumType) {
            base = base ?? buffer   // the first bucket starts at the first gradient of the top layers
            events.append(.start(offset: buffer - base!, count: count, type: type))
        }
        func progressSums() { events.append(.progress) }
        func waitForSums() { events.append(.wait) }
        func broadcast(_ buffer: UnsafeMutablePointer<Float>, count: Int, root: Int) {}
        func broadcast(_ buffer: UnsafeMutablePointer<Double>, count: Int, root: Int) {}
        func exchange(send: UnsafeRawPointer, sendCounts: [Int], receive: UnsafeMutableRawPointer, receiveCounts: [Int]) {
            receive.copyMemory(from: send, byteCount: sendCounts[0])
        }
        func barrier() {}
        func abort(code: Int32) -> Never { exit(code) }
        func finish() {}
    }

    /// A model whose last layer is batch norm (it has no layer above it to complete first).
    func testAModelEndingInBatchNormCompletesEveryGradient() throws {
        let path = try makeTemporaryDirectory(self) + "/model.toml"
        try """
            [model]
            input_shape = [28, 28, 1]
            classes = 10
            layers = [{ type = "flatten" }, { type = "dense", units = 10 }, { type = "batchnorm" }]

            [loss]
            from_logits = true
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let config = try ExperimentConfig.load(path: path)
        let communicator = RecordingCommunicator()
        let model = try Sequential(config.model)
        let step = DataParallelStep(model: model, config: config, threads: 2, communicator: communicator, bucketParameters: 1000)
        Initialization.glorotUniform(model, seed: 3, into: step.parameters)
        try runFirstStep(step)
        let started = communicator.events.compactMap { event -> Int? in
            if case let .start(_, count, .float64) = event { return count }
            return nil
        }
        XCTAssertEqual(started.reduce(0, +), model.parameterCount + 4, "every gradient and the 4 counters, once")
    }

    func testBucketsStartDuringTheBackwardPassInDescendingOrder() throws {
        var config = try ExperimentConfig.load(path: residualConfig)
        config.batchSize = 16
        let communicator = RecordingCommunicator()
        let model = try Sequential(config.model)
        let step = DataParallelStep(model: model, config: config, threads: 2, communicator: communicator, bucketParameters: 1000)
        Initialization.glorotUniform(model, seed: 3, into: step.parameters)
        var generator = SeededGenerator(seed: 4)
        let images = (0..<(16 * 784)).map { _ in generator.nextUnitFloat() }
        _ = try step.run(sampleCount: 16, globalStep: 0, fill: { range, x, labels, ids in
            for (slot, n) in range.enumerated() {
                for i in 0..<784 { x[slot * 784 + i] = images[n * 784 + i] }
                labels[slot] = Int32(n % 10)
                ids[slot] = Int64(n)
            }
        }, where: "step 0")

        let buckets = GradientBuckets.boundaries(parameterOffsets: model.parameterOffsets, count: model.parameterCount,
                                                 bucketParameters: 1000)
        XCTAssertGreaterThan(buckets.count, 2, "a 1,000-parameter bucket cuts this model in several")
        let starts = communicator.events.enumerated().compactMap { i, event -> (Int, Int, Int)? in
            if case let .start(offset, count, .float64) = event { return (i, offset, count) }
            return nil
        }
        XCTAssertEqual(starts.count, buckets.count + 1, "every bucket, then the 4 counters")
        let top = buckets[0].lowerBound * 8
        for (bucket, start) in zip(buckets, starts) {
            XCTAssertEqual(start.1, bucket.lowerBound * 8 - top, "bucket \(bucket) at its place in the one buffer")
            XCTAssertEqual(start.2, bucket.count)
        }
        XCTAssertEqual(starts.last?.2, 4)
        XCTAssertEqual(buckets.map(\.count).reduce(0, +), model.parameterCount)
        XCTAssertEqual(buckets.first?.upperBound, model.parameterCount)
        XCTAssertEqual(buckets.last?.lowerBound, 0)
        // The batch norm's backward statistics are summed (an allreduce) in the middle of the
        // backward pass: the top buckets must have started before the last such sum.
        let lastStatistics = communicator.events.lastIndex { if case .allreduce = $0 { return true } else { return false } }
        XCTAssertNotNil(lastStatistics)
        XCTAssertLessThan(starts[0].0, lastStatistics!, "the first bucket starts while the backward pass goes on")
        XCTAssertEqual(communicator.events.last, .wait)
        // A backward stage sums its batch norm's statistics before it starts the buckets it
        // completed: their bytes would otherwise be on the link ahead of that small sum. A bucket
        // completed by the stage that stops at batch norm `s` (the highest such layer below the
        // bucket) starts after the forward sums and the backward sums of `s` and every one above.
        let stops = model.fastPaths.indices.filter { model.fastPaths[$0].statisticsCount > 0 }
        let offsets = model.parameterOffsets + [model.parameterCount]
        for (bucket, start) in zip(buckets, starts) {
            let stop = stops.last { offsets[$0 + 1] <= bucket.lowerBound }
            let expected = stops.count + (stop.map { s in stops.filter { $0 >= s }.count } ?? stops.count)
            let before = communicator.events[..<start.0].filter { if case .allreduce = $0 { return true } else { return false } }.count
            XCTAssertEqual(before, expected, "statistics sums before bucket \(bucket)")
        }
    }

    /// Two convolutions between batch norms: one backward stage completes two buckets. A call
    /// (ending in its `progressSums`) starts complete buckets in order only until it has started
    /// `bucketParameters`; the others wait for the next call (a later stage's, right after its
    /// statistics sum) or `finish`; none waits while a call has budget left, none starts before
    /// its layers are complete, and the order and boundaries stay those of `boundaries`.
    func testPacedBucketsStartInOrderAtMostOneBudgetPerCall() throws {
        let path = try makeTemporaryDirectory(self) + "/model.toml"
        try Self.pairedConvolutions.write(toFile: path, atomically: true, encoding: .utf8)
        let config = try ExperimentConfig.load(path: path)
        let communicator = RecordingCommunicator()
        let model = try Sequential(config.model)
        let budget = 100
        let step = DataParallelStep(model: model, config: config, threads: 2, communicator: communicator, bucketParameters: budget)
        Initialization.glorotUniform(model, seed: 3, into: step.parameters)
        try runFirstStep(step)
        let buckets = GradientBuckets.boundaries(parameterOffsets: model.parameterOffsets, count: model.parameterCount,
                                                 bucketParameters: budget)
        // The calls: the starts before each `progress`; then `finish`'s, which end in the counters.
        var calls: [[Int]] = [[]], sumsBefore: [Int] = [], sums = 0
        for event in communicator.events {
            switch event {
            case .allreduce: sums += 1
            case let .start(offset, count, .float64):
                if calls[calls.count - 1].isEmpty { sumsBefore.append(sums) }
                calls[calls.count - 1].append(offset / 8 + count)   // upper bound, relative to the top bucket's start
            case .progress:
                if calls[calls.count - 1].isEmpty { sumsBefore.append(sums) }
                calls.append([])
            default: break
            }
        }
        let top = buckets[0].lowerBound
        let started = calls.flatMap { $0 }.dropLast().map { $0 + top }   // the last start is the counters
        XCTAssertEqual(started, buckets.map(\.upperBound), "every bucket once, in the order and with the boundaries of `boundaries`")
        // Which call first finds each bucket complete: the stages' completed ranges, from the top.
        let stops = model.fastPaths.indices.filter { model.fastPaths[$0].statisticsCount > 0 }
        let offsets = model.parameterOffsets + [model.parameterCount]
        let completedFrom = stops.reversed().map { offsets[$0 + 1] } + [0]   // lower bound each call completes
        var deferred = 0, index = 0
        XCTAssertEqual(calls.count, completedFrom.count + 1, "one call per backward stage and the last, then finish")
        for (call, uppers) in calls.dropLast().enumerated() {
            let ranges = buckets[index..<(index + uppers.count)]
            let counts = ranges.map(\.count)
            XCTAssertLessThan(counts.dropLast().reduce(0, +), budget, "call \(call) started past its budget: \(counts)")
            for range in ranges {
                XCTAssertGreaterThanOrEqual(range.lowerBound, completedFrom[call], "call \(call) started \(range) before it was complete")
            }
            index += uppers.count
            if index < buckets.count && buckets[index].lowerBound >= completedFrom[call] {
                deferred += 1
                XCTAssertGreaterThanOrEqual(counts.reduce(0, +), budget, "call \(call) left a complete bucket with budget to spare")
            }
        }
        XCTAssertGreaterThan(deferred, 0, "this model must make some bucket wait for a later call")
        XCTAssertEqual(sumsBefore.first, stops.count + 1, "the first call comes after the forward sums and the first backward one")
    }

    /// 28x28x1: conv, conv, batch norm, conv, conv, batch norm, dense: each stage's backward
    /// completes two convolutions.
    private static let pairedConvolutions = """
        [model]
        input_shape = [28, 28, 1]
        classes = 10
        layers = [{ type = "conv2d", filters = 4, kernel_size = 3, padding = "same" },
                  { type = "conv2d", filters = 4, kernel_size = 3, padding = "same", use_bias = false },
                  { type = "batchnorm" },
                  { type = "conv2d", filters = 4, kernel_size = 3, padding = "same" },
                  { type = "conv2d", filters = 4, kernel_size = 3, padding = "same", use_bias = false },
                  { type = "batchnorm" }, { type = "flatten" }, { type = "dense", units = 10 }]

        [loss]
        from_logits = true
        """

    /// Paced buckets that wait for later calls (`pairedConvolutions`, 100 parameters a bucket) and
    /// the default ones at 2-4 ranks give the bytes of one rank.
    func testPacedBucketsTrainTheSameBytesOnOneToFourRanks() throws {
        let data = try makeSmallMNIST(self, trainCount: 600, testCount: 100)
        let config = try makeTemporaryDirectory(self) + "/paired.toml"
        try (Self.pairedConvolutions + "\n[training]\nbatch_size = 24\nepochs = 1\n").write(toFile: config, atomically: true, encoding: .utf8)
        var reference: Data?
        for (ranks, bucket) in [(1, nil), (2, "100"), (3, nil), (4, "100")] as [(Int, String?)] {
            let runDirectory = try makeTemporaryDirectory(self)
            var environment = mpiEnvironment
            environment["CONVNET_BUCKET_PARAMETERS"] = bucket
            let result = try runCommand(try mpirunPath(), mpirunArguments(ranks) + [productBinary, "train", "--config", config,
                                        "--data-dir", data, "--run-dir", runDirectory, "--max-steps", "12",
                                        "--threads", "1", "--quiet"], environment: environment, timeout: 300)
            XCTAssertEqual(result.status, 0, result.error)
            let bytes = try modelBytes(runDirectory)
            guard let reference else { reference = bytes; continue }
            XCTAssertEqual(bytes, reference, "\(ranks) rank(s), buckets of \(bucket ?? "default") parameters vs 1 rank")
        }
    }

    /// Small buckets (many per step) at 2-4 ranks give the bytes of one rank with the default ones.
    func testSmallBucketsTrainTheSameBytesOnOneToFourRanks() throws {
        let data = try makeSmallMNIST(self, trainCount: 2000, testCount: 100)
        var reference: Data?
        for (ranks, bucket) in [(1, nil), (1, "700"), (2, "700"), (2, nil), (3, "5000"), (4, "700")] as [(Int, String?)] {
            let runDirectory = try makeTemporaryDirectory(self)
            var environment = mpiEnvironment
            environment["CONVNET_BUCKET_PARAMETERS"] = bucket
            let result = try runCommand(try mpirunPath(), mpirunArguments(ranks) + [productBinary, "train", "--config", residualConfig,
                                        "--data-dir", data, "--run-dir", runDirectory, "--batch-size", "48", "--max-steps", "25",
                                        "--threads", "1", "--quiet"], environment: environment, timeout: 300)
            XCTAssertEqual(result.status, 0, result.error)
            let bytes = try modelBytes(runDirectory)
            guard let reference else { reference = bytes; continue }
            XCTAssertEqual(bytes, reference, "\(ranks) rank(s), buckets of \(bucket ?? "default") parameters vs 1 rank")
        }
    }

    private func weights(_ runDirectory: String) throws -> [Float] {
        let file = try SafeTensors.read(path: runDirectory + "/model.safetensors")
        return file.names.flatMap { file.tensors[$0]!.values }
    }

    /// `--allreduce-dtype float32` runs at 1 and 2 ranks. On one rank the Float sum divided by the
    /// batch of 64 (a power of two: exact) rounds as the Double mean does, so the bits are those of
    /// `float64`; on two, each rank's sums are rounded before they are added, and the weights move
    /// a little away from them.
    func testFloat32AllreduceTrainsOnOneAndTwoRanks() throws {
        let data = try makeSmallMNIST(self, trainCount: 2000, testCount: 100)
        let common = ["train", "--data-dir", data, "--max-steps", "30", "--threads", "1", "--quiet"]
        let double = try makeTemporaryDirectory(self)
        let plain = try runCommand(productBinary, common + ["--run-dir", double])
        XCTAssertEqual(plain.status, 0, plain.error)
        let reference = try weights(double)
        for ranks in [1, 2] {
            let runDirectory = try makeTemporaryDirectory(self)
            let result = try runUnderMPI(ranks, common + ["--run-dir", runDirectory, "--allreduce-dtype", "float32"])
            XCTAssertEqual(result.status, 0, result.error)
            let ours = try weights(runDirectory)
            XCTAssertTrue(ours.allSatisfy(\.isFinite))
            let same = ours.map(\.bitPattern) == reference.map(\.bitPattern)
            XCTAssertEqual(same, ranks == 1, "\(ranks) rank(s): the same bits as float64 on one rank only")
            print("\(ranks) rank(s), float32: max |weight difference| to float64 after 30 steps = \(maxAbsoluteDifference(ours, reference))")
            XCTAssertLessThan(maxAbsoluteDifference(ours, reference), 0.05, "\(ranks) rank(s)")
            let saved = try String(contentsOfFile: runDirectory + "/config.toml", encoding: .utf8)
            XCTAssertTrue(saved.contains("allreduce_dtype = \"float32\""), saved)
        }
    }

    func testFloat32ResumeIsByteExact() throws {
        let data = try makeSmallMNIST(self, trainCount: 2000, testCount: 100)
        let common = ["train", "--threads", "2", "--data-dir", data, "--allreduce-dtype", "float32", "--quiet"]
        let runs = try straightAndResumedModels(self, common, stopAt: 15, steps: 40)
        XCTAssertEqual(runs.resumed, runs.straight)
    }

    func testBadAllreduceDtypeIsOneLine() throws {
        let flag = try runCommand(productBinary, ["train", "--allreduce-dtype", "float16", "--max-steps", "1"])
        XCTAssertNotEqual(flag.status, 0)
        XCTAssertTrue(flag.error.contains("--allreduce-dtype must be float64 or float32, got \"float16\""), flag.error)
        XCTAssertEqual(flag.error.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").count, 1, flag.error)

        let directory = try makeTemporaryDirectory(self)
        let config = directory + "/bad.toml"
        let text = try String(contentsOfFile: residualConfig, encoding: .utf8)
            .replacingOccurrences(of: "[training]\n", with: "[training]\nallreduce_dtype = \"half\"\n")
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        let key = try runCommand(productBinary, ["train", "--config", config, "--max-steps", "1"])
        XCTAssertNotEqual(key.status, 0)
        XCTAssertTrue(key.error.contains("allreduce_dtype"), key.error)
        XCTAssertTrue(key.error.contains("half"), key.error)
        XCTAssertEqual(key.error.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").count, 1, key.error)
    }

    /// kill -9 of one rank while the other may be waiting on started bucket sums (`float32` puts
    /// every model on that path): mpirun exits non-zero within 10 s and no rank survives.
    func testKilledRankDuringBucketedSumsEndsTheJob() throws {
        let runDirectory = try makeTemporaryDirectory(self)
        let job = try startCommand(try mpirunPath(), mpirunArguments(2) + [productBinary, "train",
                                   "--data-dir", try SharedData.mnistDirectory(), "--run-dir", runDirectory,
                                   "--log-every", "1", "--threads", "1", "--allreduce-dtype", "float32"], environment: mpiEnvironment)
        let started = Date()
        func stepsLogged() -> Int {
            ((try? String(contentsOfFile: runDirectory + "/steps.csv", encoding: .utf8)) ?? "").split(separator: "\n").count - 1
        }
        while stepsLogged() < 20 && Date().timeIntervalSince(started) < 60 { usleep(100_000) }
        func ranks() throws -> [Int32] {
            let result = try runCommand("/usr/bin/pgrep", ["-f", "^\(productBinary) train .*\(runDirectory)"])
            return result.output.split(separator: "\n").compactMap { Int32($0) }.sorted()
        }
        let victim = try XCTUnwrap(try ranks().last)
        kill(victim, SIGKILL)
        let killedAt = Date()
        let result = job.finish(timeout: 30)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertLessThan(Date().timeIntervalSince(killedAt), 10)
        usleep(500_000)
        XCTAssertEqual(try ranks(), [], "ranks left behind")
    }

    /// One step of 8 made 28x28 pictures, the sums recorded by the step's communicator.
    private func runFirstStep(_ step: DataParallelStep) throws {
        _ = try step.run(sampleCount: 8, globalStep: 0, fill: { range, x, labels, ids in
            for (slot, n) in range.enumerated() {
                for i in 0..<784 { x[slot * 784 + i] = Float((n * 31 + i) % 17) / 17 }
                labels[slot] = Int32(n % 10)
                ids[slot] = Int64(n)
            }
        }, where: "step 0")
    }
}
