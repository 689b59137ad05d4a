import ArgumentParser
import ConvNetConfig
import ConvNetCore
import ConvNetData
import Foundation
import Images
import SafeTensors
import Training

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Classify pictures of digits (PNG or PGM, any size) with a checkpoint, or show a test image.",
        discussion: """
            Pictures are converted as MNIST was made: grey, light digit on black (dark-on-light input is
            inverted), scaled to a 20x20 box and centred in 28x28.
            Examples:
              convnet-dist predict --checkpoint runs/mnist/checkpoints/step-00004690.safetensors seven.png three.pgm
              convnet-dist predict --checkpoint model.safetensors --test-index 0 --data-dir data/mnist
            """)

    @Option(help: "Checkpoint (or model.safetensors from a run folder) to predict with.")
    var checkpoint: String

    @Argument(help: "PNG or PGM files.")
    var files: [String] = []

    @Option(help: "Also show test image N (text art) with its label and the prediction.")
    var testIndex: Int?

    @OptionGroup var data: DataOptions

    @Option(help: "How many classes to list per image.")
    var top: Int = 3

    func validate() throws {
        if files.isEmpty && testIndex == nil { throw ValidationError("give image files or --test-index N") }
        if top < 1 { throw ValidationError("--top must be at least 1") }
        if let testIndex, testIndex < 0 { throw ValidationError("--test-index must not be negative") }
    }

    func run() throws {
        try reportingErrors {
            let (checkpointConfig, model, parameters, state) = try loadModel()
            let shape = model.inputShape.dimensions
            guard shape[2] == 1 else { throw ValidationError("predict handles greyscale models only") }
            let runner = ModelRunner(model: model, maxBatch: 1, threads: 1)
            func classify(_ image: GreyImage) throws -> [Float] {
                var probabilities = [Float](repeating: 0, count: model.classes)
                let pixels = image.pixels
                guard pixels.count == model.inputShape.count else {
                    throw ValidationError("the model takes \(shape.map(String.init).joined(separator: "x")) inputs; "
                                          + "predict prepares \(image.height)x\(image.width)x1 digit pictures")
                }
                _ = probabilities.withUnsafeMutableBufferPointer { out in
                    runner.evaluate(sampleCount: 1, parameters: parameters.pointer, state: state.pointer,
                                    probabilities: out.baseAddress!) { _, x, labels, _ in
                        for i in 0..<pixels.count { x[i] = Float(pixels[i]) / 255 }
                        labels[0] = 0
                    }
                }
                return probabilities
            }
            func ranking(_ p: [Float]) -> String {
                p.enumerated().sorted { $0.element > $1.element }.prefix(top)
                    .map { "\($0.offset) (\(String(format: "%.1f", 100 * $0.element))%)" }.joined(separator: ", ")
            }
            for file in files {
                guard let data = FileManager.default.contents(atPath: file) else { throw ImageError("\(file): cannot read file") }
                let picture = data.starts(with: [137, 80, 78, 71]) ? try PNG.decode(data, name: file) : try PGM.decode(data, name: file)
                let digit = DigitPreprocessing.mnistLike(picture, size: shape[0], box: shape[0] * 20 / 28)
                print("\(file): \(ranking(try classify(digit)))")
            }
            if let testIndex {
                let test = try data.files(for: checkpointConfig).loadTest(shard: .whole, expectedShape: shape, classes: model.classes)
                guard testIndex < test.count else { throw ValidationError("--test-index must be below \(test.count)") }
                let image = GreyImage(width: shape[1], height: shape[0],
                                      pixels: Array(test.pixels[(testIndex * test.sampleSize)..<((testIndex + 1) * test.sampleSize)]))
                print(DigitPreprocessing.textArt(image))
                print("test image \(testIndex): label \(test.labels[testIndex]); predicted \(ranking(try classify(image)))")
            }
        }
    }

    /// A checkpoint, or a plain weights file from a run folder (which needs the reference model).
    /// A file that says it is a checkpoint gets the checkpoint's own checks and errors.
    private func loadModel() throws -> (ExperimentConfig, Sequential, parameters: FloatBuffer, state: FloatBuffer) {
        let file = try SafeTensors.read(path: checkpoint)
        if file.metadata["format"] == Checkpoint.format {
            let loaded = try Checkpoint.load(path: checkpoint)
            return (loaded.config, try Sequential(loaded.config.model), FloatBuffer(loaded.parameters), FloatBuffer(loaded.state))
        }
        let model = try Sequential(.kerasMNIST)
        let parameters = FloatBuffer(count: model.parameterCount), state = FloatBuffer(count: model.stateCount)
        try WeightsFile.load(path: checkpoint, model: model, into: parameters, state: state)
        return (.reference, model, parameters, state)
    }
}
