import ArgumentParser
import ConvNetConfig
import DataFormats
import Foundation

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a data set as an image folder (PNG or JPEG pictures in train/<class>/ and test/<class>/; <class>/ alone for a set without test set).",
        discussion: """
            The folder reads back (--data-format folder) to the same samples in the same order: a way to look
            at a data set, or a template for your own pictures.
            Examples:
              convnet-dist convert --data-dir data/mnist --output data/mnist-png
              convnet-dist convert --data-dir data/mnist --output data/mnist-jpeg --image-format jpeg --quality 95
            """)

    @OptionGroup var data: DataOptions

    @Option(help: "Recipe file (TOML) whose model input the data must fit. Default: the built-in reference recipe.")
    var config: String?

    @Option(help: "The folder to write (must not exist yet).")
    var output: String

    @Option(help: "png or jpeg.")
    var imageFormat: String = "png"

    @Option(help: "JPEG quality, 1-100.")
    var quality: Int = 95

    @OptionGroup var compute: ThreadOptions

    func validate() throws {
        if !["png", "jpeg"].contains(imageFormat) { throw ValidationError("--image-format must be png or jpeg, got \"\(imageFormat)\"") }
        if !(1...100).contains(quality) { throw ValidationError("--quality must be between 1 and 100") }
    }

    func run() throws {
        try reportingErrors {
            guard !FileManager.default.fileExists(atPath: output) else {
                throw ValidationError("\(output) already exists; give a new folder to --output")
            }
            let recipe = try config.map { try ExperimentConfig.load(path: $0) } ?? .reference
            let threads = compute.threads ?? ProcessInfo.processInfo.activeProcessorCount
            let files = try data.files(for: recipe, threads: threads)
            let shape = recipe.model.inputShape.dimensions, classes = recipe.model.classes
            let encoding: ImageFolderWriter.Encoding = imageFormat == "png" ? .png : .jpeg(quality: quality)
            let names = try files.classNames()
            // A data set without a test set is written in the single layout: its classes directly in the output.
            let training = try files.loadTraining(shard: .whole, expectedShape: shape, classes: classes)
            let sets = files.hasTestSet ? [("train", training), ("test", try files.loadTest(shard: .whole, expectedShape: shape, classes: classes))]
                : [("", training)]
            for (split, set) in sets {
                let folder = split.isEmpty ? output : (output as NSString).appendingPathComponent(split)
                try ImageFolderWriter.write(set, to: folder, classNames: names ?? (0..<classes).map(String.init),
                                            encoding: encoding, threads: threads)
                print("\(folder): \(set.count) pictures")
            }
        }
    }
}
