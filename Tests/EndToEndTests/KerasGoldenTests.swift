import ConvNetCore
import ConvNetData
import SafeTensors
import TestSupport
import XCTest

/// Our model, loaded with Keras's initial weights, must reproduce what Keras computed
/// (`../shared/data/keras-reference/golden.safetensors`, see its README).
final class KerasGoldenTests: XCTestCase {
    var golden: SafeTensors.File!
    var model: Sequential!
    var parameters: FloatBuffer!

    override func setUpWithError() throws {
        let directory = try SharedData.kerasReferenceDirectory()
        golden = try SafeTensors.read(path: directory + "/golden.safetensors")
        model = try Sequential(.kerasMNIST)
        parameters = FloatBuffer(count: model.parameterCount)
        for view in model.parameterLayout.views {
            let tensor = try XCTUnwrap(golden.tensors["init." + view.name], "missing init.\(view.name)")
            XCTAssertEqual(tensor.shape, view.shape, view.name)
            (parameters.pointer + view.offset).update(from: tensor.values, count: view.count)
        }
    }

    /// The reference model has no non-trainable state.
    private let noState = FloatBuffer(count: 0)

    private func tensor(_ name: String) throws -> SafeTensor {
        try XCTUnwrap(golden.tensors[name], "golden file lacks \(name)")
    }

    /// Fills batches from a `[n, 28, 28, 1]` image tensor and integer labels.
    private func filler(_ images: SafeTensor, labels: [Int32]) -> BatchFiller {
        let size = 28 * 28
        return { range, destination, labelDestination, _ in
            for (slot, sample) in range.enumerated() {
                (destination + slot * size).update(from: Array(images.values[(sample * size)..<((sample + 1) * size)]), count: size)
                labelDestination[slot] = labels[sample]
            }
        }
    }

    func testSoftmaxOutputsMatchKeras() throws {
        let images = try tensor("probe.images"), expected = try tensor("probe.init_probs")
        let count = images.shape[0]
        for threads in [1, 2] {
            let runner = ModelRunner(model: model, maxBatch: 64, threads: threads)
            var probabilities = [Float](repeating: 0, count: count * 10)
            _ = probabilities.withUnsafeMutableBufferPointer { out in
                runner.evaluate(sampleCount: count, parameters: parameters.pointer, state: noState.pointer, probabilities: out.baseAddress!,
                                fill: filler(images, labels: [Int32](repeating: 0, count: count)))
            }
            XCTAssertLessThanOrEqual(maxAbsoluteDifference(probabilities, expected.values), 1e-5, "threads \(threads)")
        }
    }

    func testLossGradientsAndRMSpropStepMatchKeras() throws {
        let images = try tensor("batch.images"), onehot = try tensor("batch.labels_onehot")
        let labels = (0..<64).map { n in Int32((0..<10).first { onehot.values[n * 10 + $0] == 1 }!) }
        for threads in [1, 2] {
            let runner = ModelRunner(model: model, maxBatch: 64, threads: threads)
            let sums = DoubleBuffer(count: model.parameterCount)
            let stats = runner.gradients(batchSize: 64, parameters: parameters.pointer, state: noState.pointer, into: sums.pointer,
                                         fill: filler(images, labels: labels))
            let gradients = FloatBuffer(sums.array.map { Float($0 / 64) })   // the sum over the batch -> Keras's mean
            XCTAssertEqual(stats.count, 64)
            XCTAssertEqual(Float(stats.meanLoss), try tensor("batch.loss").values[0], accuracy: 1e-5)

            let stepped = FloatBuffer(count: model.parameterCount)
            stepped.copy(from: parameters)
            RMSprop(parameterCount: model.parameterCount).step(parameters: stepped.pointer,
                                                               gradients: gradients.pointer, count: gradients.count)
            for view in model.parameterLayout.views {
                let expectedGradient = try tensor("grad." + view.name).values
                let ours = Array(gradients.buffer[view.range])
                XCTAssertLessThanOrEqual(maxAbsoluteDifference(ours, expectedGradient), 1e-4 * maxMagnitude(expectedGradient),
                                         "gradient of \(view.name), threads \(threads)")
                let expectedWeights = try tensor("step1." + view.name).values
                XCTAssertLessThanOrEqual(maxAbsoluteDifference(Array(stepped.buffer[view.range]), expectedWeights),
                                         1e-4 * maxMagnitude(expectedWeights), "stepped \(view.name), threads \(threads)")
            }
        }
    }
}

/// Our MNIST loader yields exactly the pixels (x / 255) and labels Keras trained on.
final class KerasDataTests: XCTestCase {
    func testLoaderMatchesKerasBatches() throws {
        let golden = try SafeTensors.read(path: try SharedData.kerasReferenceDirectory() + "/golden.safetensors")
        let files = IDXFiles(directory: try SharedData.mnistDirectory())
        let train = try files.loadTraining(expectedShape: [28, 28, 1], classes: 10)
        let test = try files.loadTest(expectedShape: [28, 28, 1], classes: 10)
        for (set, images, count) in [(train, "batch.images", 64), (test, "probe.images", 256)] {
            let expected = try XCTUnwrap(golden.tensors[images]).values
            var ours = [Float](repeating: 0, count: count * 784)
            for n in 0..<count { _ = set.write(sample: n, to: &ours[n * 784]) }
            let mismatches = zip(ours, expected).filter { $0.0 != $0.1 }.count
            XCTAssertEqual(mismatches, 0, "\(images): \(mismatches) pixels differ, by up to \(maxAbsoluteDifference(ours, expected))")
        }
        let onehot = try XCTUnwrap(golden.tensors["batch.labels_onehot"]).values
        for n in 0..<64 { XCTAssertEqual(onehot[n * 10 + Int(train.labels[n])], 1, "label of training image \(n)") }
    }
}
