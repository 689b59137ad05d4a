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
        abstract: "Classify pictures (PNG, JPEG or PGM files, or folders of them) with a checkpoint, or show a test image.",
        discussion: """
            A model trained on an image folder sees each picture as training did: converted to its channels and
            resized bilinearly to its input. Digit models (MNIST-like data) see pictures as MNIST was made:
            grey, light digit on black (dark-on-light input is inverted), scaled to a 20x20 box, centred in 28x28.
            Examples:
              convnet-dist predict --checkpoint runs/mnist/checkpoints/step-00004690.safetensors seven.png three.jpg
              convnet-dist predict --checkpoint runs/pets/model.safetensors photos/ --json
              convnet-dist predict --checkpoint model.safetensors --test-index 0 --data-dir data/mnist
            """)

    @Option(help: "Checkpoint (or model.safetensors from a run folder) to predict with.")
    var checkpoint: String

    @Argument(help: "PNG, JPEG or PGM files, or folders (every .png, .jpg, .jpeg and .pgm file inside, in name order).")
    var files: [String] = []

    @Option(parsing: .unconditional, help: "Also show test image N (text art) with its label and the prediction.")
    var testIndex: Int?

    @OptionGroup var data: DataOptions

    @Option(parsing: .unconditional, help: "How many classes to list per image.")
    var top: Int = 3

    @Flag(help: "Print one JSON object: per picture its file, class name, class index and probabilities.")
    var json = false

    func validate() throws {
        if files.isEmpty && testIndex == nil { throw ValidationError("give image files or --test-index N") }
        if top < 1 { throw ValidationError("--top must be at least 1") }
        if let testIndex, testIndex < 0 { throw ValidationError("--test-index must not be negative") }
    }

    func run() throws {
        try reportingErrors {
            let loaded = try loadModel()
            let model = loaded.model, shape = model.inputShape.dimensions
            let names = loaded.classNames ?? (0..<model.classes).map(String.init)
            try MemoryBudget.machine().check(MemoryEstimate(model: model, maxBatch: 1, threads: 1, chunkSize: 1, optimizerSlots: 0),
                                           advice: "the checkpoint's model is too large for this machine")
            let runner = ModelRunner(model: model, maxBatch: 1, threads: 1)
            func classify(_ pixels: [UInt8]) -> [Float] {
                var probabilities = [Float](repeating: 0, count: model.classes)
                _ = probabilities.withUnsafeMutableBufferPointer { out in
                    runner.evaluate(sampleCount: 1, parameters: loaded.parameters.pointer, state: loaded.state.pointer,
                                    probabilities: out.baseAddress!) { _, x, labels, _ in
                        for i in 0..<pixels.count { x[i] = Float(pixels[i]) / 255 }
                        labels[0] = 0
                    }
                }
                return probabilities
            }
            func ranking(_ p: [Float]) -> String {
                p.enumerated().sorted { $0.element > $1.element }.prefix(top)
                    .map { "\(names[$0.offset]) (\(String(format: "%.1f", 100 * $0.element))%)" }.joined(separator: ", ")
            }
            // Digit models (trained on MNIST-like data) see pictures as MNIST was made; folder-trained ones as training did.
            let preparation = try PicturePreparation(shape: shape, asDigits: loaded.config.dataFormat != "folder" && shape[2] == 1)
            var predictions: [[String: Any]] = []
            for file in try pictureFiles() {
                let probabilities = classify(preparation.prepare(try PictureFile.read(path: file, channels: shape[2])))
                let best = probabilities.indices.max { probabilities[$0] < probabilities[$1] }!
                if json {
                    predictions.append(["file": file, "class": names[best], "index": best, "probabilities": probabilities.map(Double.init)])
                } else {
                    print("\(file): \(ranking(probabilities))")
                }
            }
            if let testIndex {
                let test = try data.files(for: loaded.config).loadTest(shard: .whole, expectedShape: shape, classes: model.classes)
                guard testIndex < test.count else { throw ValidationError("--test-index must be below \(test.count)") }
                let pixels = Array(test.pixels[(testIndex * test.sampleSize)..<((testIndex + 1) * test.sampleSize)])
                let probabilities = classify(pixels)
                if json {
                    let best = probabilities.indices.max { probabilities[$0] < probabilities[$1] }!
                    predictions.append(["test_index": testIndex, "label": Int(test.labels[testIndex]), "class": names[best],
                                        "index": best, "probabilities": probabilities.map(Double.init)])
                } else {
                    if shape[2] == 1 { print(DigitPreprocessing.textArt(GreyImage(width: shape[1], height: shape[0], pixels: pixels))) }
                    print("test image \(testIndex): label \(names[Int(test.labels[testIndex])]); predicted \(ranking(probabilities))")
                }
            }
            if json {
                let object: [String: Any] = ["checkpoint": checkpoint, "class_names": names, "predictions": predictions]
                print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
            }
        }
    }

    /// The files given, folders expanded to their pictures (the image folders' rule, plus PGM) in name order.
    private func pictureFiles() throws -> [String] {
        try files.flatMap { path -> [String] in
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { throw ImageError("\(path): no such file or folder") }
            guard isFolder.boolValue else { return [path] }
            var pictures: [String] = []
            try PictureFile.walk(path, extensions: PictureFile.folderExtensions.union(["pgm"])) { pictures.append($0); return true }
            guard !pictures.isEmpty else { throw ImageError("\(path): the folder holds no .png, .jpg, .jpeg or .pgm pictures") }
            return pictures.sorted(by: PictureFile.precedes).map { (path as NSString).appendingPathComponent($0) }
        }
    }

    /// A checkpoint, or a plain weights file: a run folder's (read with the config.toml beside it),
    /// else one of the reference model. A file that says it is a checkpoint gets the checkpoint's
    /// own checks and errors.
    private func loadModel() throws -> (config: ExperimentConfig, model: Sequential, parameters: FloatBuffer, state: FloatBuffer,
                                        classNames: [String]?) {
        let file = try SafeTensors.read(path: checkpoint)
        let folder = (checkpoint as NSString).deletingLastPathComponent
        let runConfig = ((folder.isEmpty ? "." : folder) as NSString).appendingPathComponent("config.toml")
        if file.metadata["format"] == Checkpoint.format || FileManager.default.fileExists(atPath: runConfig) {
            let loaded = try Checkpoint.loadModel(path: checkpoint).checkpoint
            return (loaded.config, try Sequential(loaded.config.model), FloatBuffer(loaded.parameters), FloatBuffer(loaded.state),
                    loaded.classNames)
        }
        let model = try Sequential(.kerasMNIST)
        let parameters = FloatBuffer(count: model.parameterCount), state = FloatBuffer(count: model.stateCount)
        try WeightsFile.load(path: checkpoint, model: model, into: parameters, state: state)
        return (.reference, model, parameters, state, nil)
    }
}
