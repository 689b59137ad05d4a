import ArgumentParser
import ConvNetConfig
import DataFormats
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
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

    @Option(parsing: .unconditional, help: "JPEG quality, 1-100.")
    var quality: Int = 95

    @OptionGroup var compute: ThreadOptions

    func validate() throws {
        if !["png", "jpeg"].contains(imageFormat) { throw ValidationError("--image-format must be png or jpeg, got \"\(imageFormat)\"") }
        if !(1...100).contains(quality) { throw ValidationError("--quality must be between 1 and 100, got \(quality)") }
    }

    func run() throws {
        try reportingErrors {
            let recipe = try config.map { try ExperimentConfig.load(path: $0) } ?? .reference
            try Self.checkOutput(output, input: data.directory(for: recipe))
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

    /// Rule: an output never equals, contains or lives inside an input (paths compared with every
    /// symbolic link resolved), never follows a symbolic link and never replaces anything: convert
    /// writes a folder that does not exist yet. `--output ""` is an error, not the current folder.
    static func checkOutput(_ output: String, input: String) throws {
        guard !output.isEmpty else { throw ValidationError("--output is empty; give a new folder") }
        var info = stat()
        if lstat(output, &info) == 0 {
            let what = info.st_mode & S_IFMT == S_IFLNK ? " (a symbolic link)" : ""
            throw ValidationError("--output \(output) already exists\(what); give a new folder")
        }
        let data = resolved(input), target = resolved(output)
        if target == data || target.hasPrefix(data + "/") {
            throw ValidationError("--output \(output) lies inside the data set being converted (\(input)); give a folder outside it")
        }
        if data.hasPrefix(target + "/") {
            throw ValidationError("--output \(output) contains the data set being converted (\(input)); give a folder outside it")
        }
    }

    /// The absolute path `path` names: its longest existing part with symbolic links resolved (as
    /// the system will follow them), then the parts still to be created, `.` and `..` applied.
    private static func resolved(_ path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var parts = absolute.split(separator: "/").map(String.init)
        var base = "/"
        while !parts.isEmpty, let real = realpath(base == "/" ? "/" + parts[0] : base + "/" + parts[0], nil) {
            base = String(cString: real)
            free(real)
            parts.removeFirst()
        }
        var components = base.split(separator: "/").map(String.init)
        for part in parts where part != "." {
            if part == ".." { _ = components.popLast() } else { components.append(part) }
        }
        return "/" + components.joined(separator: "/")
    }
}
