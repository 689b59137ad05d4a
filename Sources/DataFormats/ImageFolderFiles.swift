import ConvNetData
import Dispatch
import Foundation
import Images

/// The `folder` format, as Keras's `image_dataset_from_directory`, in one of two layouts:
/// - split: `DIR/train/<class>/*` and `DIR/test/<class>/*`; the test folder must hold the same classes.
/// - single: `DIR/<class>/*`, all training pictures and no test set (`hasTestSet` is false), for runs
///   that hold out a `validation_split` instead.
/// The presence of `DIR/train` selects the split layout, so a single-layout data set cannot have a
/// class named "train"; nor "test", since `DIR/test` without `DIR/train` is refused as a split layout
/// missing its training half (rather than trained as a class named "test").
///
/// Class names are the sorted names of the training class folders (class `k` is the k-th name, in
/// Unicode code-point order as Python sorts them). PNG and JPEG files (by extension: .png, .jpg,
/// .jpeg, at any depth under a class folder) are pictures; other files are skipped and counted.
/// libpng and libjpeg-turbo decode them to the model's channels (grey or RGB), and pictures of
/// another size are resized bilinearly as Keras resizes them. Both layouts read their class folders
/// with the same code, so the same pictures give the same samples in either.
///
/// Sample order is the file name order across classes (relative path inside the class folder, then
/// class): name files with a running number and the folder keeps the order of the set it was made
/// from; training shuffles anyway, the order only decides the shards (and `validation_split`). Each
/// rank decodes only its shard, on `options.threads` threads. A picture that cannot be decoded is an
/// error naming the file; with `options.skipBadFiles` it is left out with a warning, and then every
/// rank decodes every picture once, so that all agree on which samples exist without talking.
public struct ImageFolderFiles: DataSetFiles {
    public static let format = "folder"
    public static let layout = "train/<class>/* and test/<class>/* PNG or JPEG pictures, as Keras's image_dataset_from_directory; or <class>/* alone (no test set: set validation_split)"
    public let directory: String
    public let options: DataSetOptions

    public init(directory: String, options: DataSetOptions = DataSetOptions()) {
        self.directory = directory
        self.options = options
    }

    public var isComplete: Bool {
        isSplitLayout ? isDirectory(path("test")) : (try? classFolders(in: directory)) != nil
    }

    /// The split layout (`DIR/train` exists) has a test set; the single layout does not.
    public var hasTestSet: Bool { isSplitLayout }

    /// `DIR/train` exists: the split layout.
    var isSplitLayout: Bool { isDirectory(path("train")) }

    /// The folder whose subfolders are the training classes: `DIR/train`, or `DIR` in the single layout.
    var trainingFolder: String { isSplitLayout ? path("train") : directory }

    public func classNames() throws -> [String]? { try classFolders(in: trainingFolder) }

    public func loadTraining(shard: Shard, expectedShape: [Int], classes: Int) throws -> LabelledImages {
        try load(trainingFolder, shard: shard, expectedShape: expectedShape, classes: classes)
    }

    public func loadTest(shard: Shard, expectedShape: [Int], classes: Int) throws -> LabelledImages {
        guard isSplitLayout else {
            throw DataError("\(directory) has no test set: its class folders \(directory)/<class>/* are all training pictures "
                            + "(a test set needs \(directory)/train/<class>/* and \(directory)/test/<class>/*)")
        }
        let names = try classFolders(in: path("test"))
        let trainingNames = try classFolders(in: path("train"))
        guard names == trainingNames else {
            throw DataError("\(path("test")) holds classes \(Self.list(names)) but \(path("train")) holds \(Self.list(trainingNames)); they must be the same")
        }
        return try load(path("test"), shard: shard, expectedShape: expectedShape, classes: classes)
    }

    /// One picture file and its class index.
    struct Entry {
        let relativePath: String
        let classIndex: Int
    }

    /// The samples of `splitPath` (a folder of class folders), this rank's shard of them.
    private func load(_ splitPath: String, shard: Shard, expectedShape: [Int], classes: Int) throws -> LabelledImages {
        let (classNames, entries, skipped) = try index(splitPath)
        if skipped > 0 { options.warn("\(splitPath): skipped \(skipped) file(s) that are not .png, .jpg or .jpeg pictures") }
        guard classNames.count == classes else {
            throw DataError("\(splitPath) holds \(classNames.count) class folders (\(Self.list(classNames))) but the model has \(classes) classes")
        }
        guard expectedShape.count == 3, expectedShape[2] == 1 || expectedShape[2] == 3 else {
            throw DataError("image folders feed models whose input is height x width x 1 (grey) or x 3 (RGB); this model takes \(expectedShape)")
        }
        let classPaths = classNames.map { (splitPath as NSString).appendingPathComponent($0) }
        let sampleSize = expectedShape.reduce(1, *)
        try options.willHold?(max(0, (entries.count - shard.index + shard.count - 1) / shard.count), sampleSize)
        let started = Date()
        var pixels: [UInt8] = [], labels: [UInt8] = [], totalCount: Int, decodedCount: Int
        if options.skipBadFiles {
            // Every rank decodes every picture, block by block in entry order, and keeps the good ones
            // whose index among the good is its own: all ranks agree on the samples without talking,
            // and a rank holds only its shard plus one block.
            let blockSize = max(64, (64 << 20) / sampleSize)
            var good = 0, failures = 0, firstFailure: String?
            for blockStart in stride(from: 0, to: entries.count, by: blockSize) {
                let block = Array(entries[blockStart..<min(blockStart + blockSize, entries.count)])
                let decoded = decode(block, classPaths: classPaths, shape: expectedShape, reportedBefore: blockStart, reportTotal: entries.count)
                for j in block.indices {
                    if let failure = decoded.failures[j] {
                        failures += 1
                        if firstFailure == nil { firstFailure = failure }
                        continue
                    }
                    if good % shard.count == shard.index {
                        pixels += decoded.pixels[(j * sampleSize)..<((j + 1) * sampleSize)]
                        labels.append(UInt8(block[j].classIndex))
                    }
                    good += 1
                }
            }
            if let firstFailure {
                options.warn("\(splitPath): skipped \(failures) picture(s) that cannot be decoded (skip_bad_files); the first: \(firstFailure)")
            }
            totalCount = good
            decodedCount = entries.count
        } else {
            let wanted = Array(stride(from: shard.index, to: entries.count, by: shard.count))
            let decoded = decode(wanted.map { entries[$0] }, classPaths: classPaths, shape: expectedShape, reportedBefore: 0, reportTotal: wanted.count)
            if let first = decoded.failures.min(by: { $0.key < $1.key }) {
                throw DataError(first.value + " (set skip_bad_files = true in [data] to leave such files out)")
            }
            pixels = decoded.pixels
            labels = wanted.map { UInt8(entries[$0].classIndex) }
            totalCount = entries.count
            decodedCount = wanted.count
        }
        options.note("\(splitPath): decoded \(decodedCount) pictures in \(String(format: "%.2f", Date().timeIntervalSince(started))) s "
                     + "on \(options.threads) thread(s)")
        return try LabelledImages.checked(pixels: pixels, labels: labels, height: expectedShape[0], width: expectedShape[1],
                                          channels: expectedShape[2], shard: shard, totalCount: totalCount, source: splitPath,
                                          expectedShape: expectedShape, classes: classes)
    }

    /// The pictures decoded, converted and resized to `shape`, in order; `failures[i]`: why entry `i`
    /// could not be. Progress is reported as `reportedBefore` + pictures done, of `reportTotal`.
    private func decode(_ entries: [Entry], classPaths: [String], shape: [Int], reportedBefore: Int,
                        reportTotal: Int) -> (pixels: [UInt8], failures: [Int: String]) {
        let (height, width, channels) = (shape[0], shape[1], shape[2])
        let sampleSize = height * width * channels
        var pixels = [UInt8](repeating: 0, count: entries.count * sampleSize)
        let threads = max(1, min(options.threads, entries.count))
        let failures = LockedBox([Int: String]())
        let done = LockedBox(0)
        pixels.withUnsafeMutableBufferPointer { output in
            let output = output
            DispatchQueue.concurrentPerform(iterations: threads) { thread in
                let range = (entries.count * thread / threads)..<(entries.count * (thread + 1) / threads)
                for i in range {
                    let entry = entries[i]
                    let file = (classPaths[entry.classIndex] as NSString).appendingPathComponent(entry.relativePath)
                    do {
                        let picture = BilinearResize.resize(try PictureFile.read(path: file, channels: channels), height: height, width: width)
                        picture.pixels.withUnsafeBufferPointer {
                            (output.baseAddress! + i * sampleSize).update(from: $0.baseAddress!, count: sampleSize)
                        }
                    } catch {
                        failures.mutate { $0[i] = "\(error)" }
                    }
                    if (i - range.lowerBound) % 256 == 255 || i == range.upperBound - 1 {
                        let count = (i - range.lowerBound) % 256 + 1
                        // Reported under the lock, so counts arrive in order and the last one is the total.
                        done.mutate { $0 += count; options.progress?(reportedBefore + $0, reportTotal) }
                    }
                }
            }
        }
        return (pixels, failures.value)
    }

    /// The class folders of `splitPath`, every picture under them in sample order, and how many other files were skipped.
    func index(_ splitPath: String) throws -> (classNames: [String], entries: [Entry], skipped: Int) {
        let classNames = try classFolders(in: splitPath)
        guard classNames.count <= 256 else { throw DataError("\(splitPath) holds \(classNames.count) class folders; at most 256 classes are supported") }
        var unreadable = NameScan.nonUTF8(in: splitPath, recursive: false)
        var entries: [Entry] = [], skipped = 0
        for (classIndex, name) in classNames.enumerated() {
            let classPath = (splitPath as NSString).appendingPathComponent(name)
            var pictures = 0
            unreadable.add(NameScan.nonUTF8(in: Self.followed(classPath), recursive: true, shownAs: name))
            do {
                skipped += try PictureFile.walk(Self.followed(classPath)) { relative in
                    entries.append(Entry(relativePath: relative, classIndex: classIndex))
                    pictures += 1
                    return true
                }
            } catch { throw DataError("\(error)") }
            guard pictures > 0 || unreadable.count > 0 else {
                throw DataError("\(classPath): the class folder \(quoted(name)) holds no .png, .jpg or .jpeg pictures")
            }
        }
        // Foundation cannot name a file whose name is not UTF-8, and its walk leaves it out without a word.
        if let first = unreadable.first {
            let what = "\(unreadable.count) picture or folder name(s) that are not UTF-8 (the first: \(first))"
            guard options.skipBadFiles else {
                throw DataError("\(splitPath) holds \(what), which convnet-dist cannot open: rename them in UTF-8 "
                                + "(convmv -f latin1 -t utf8 -r --notest \(splitPath)), or set skip_bad_files = true in [data] to leave them out")
            }
            options.warn("\(splitPath): skipped \(what) (skip_bad_files)")
        }
        let filled = Set(entries.map(\.classIndex))
        if let empty = classNames.indices.first(where: { !filled.contains($0) }) {
            throw DataError("\((splitPath as NSString).appendingPathComponent(classNames[empty])): the class folder "
                            + "\(quoted(classNames[empty])) holds no .png, .jpg or .jpeg pictures with UTF-8 names")
        }
        entries.sort { a, b in
            a.relativePath == b.relativePath ? a.classIndex < b.classIndex : PictureFile.precedes(a.relativePath, b.relativePath)
        }
        return (classNames, entries, skipped)
    }

    /// The class folders of `splitPath` (subfolders not starting with '.'), sorted as Python sorts strings.
    func classFolders(in splitPath: String) throws -> [String] {
        let single = splitPath == directory && !isSplitLayout
        guard isDirectory(splitPath) else {
            if single { throw DataError("\(directory) is not a folder") }
            throw DataError("\(splitPath) is not a folder; the folder format needs \(directory)/train/<class>/* and \(directory)/test/<class>/*")
        }
        if single && isDirectory(path("test")) {
            throw DataError(Self.noLayout(directory, "it has test/ but no train/ folder"))
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: splitPath)
            .filter { !$0.hasPrefix(".") && isDirectory((splitPath as NSString).appendingPathComponent($0)) }
            .sorted(by: PictureFile.precedes)
        // Class names go to class_names.txt one per line and into messages: a newline (or any control
        // character) in one would make another class of it.
        if let bad = names.first(where: { $0.unicodeScalars.contains { $0.properties.generalCategory == .control } }) {
            throw DataError("\(splitPath): the class folder \(quoted(bad)) has a control character (newline, tab, ...) in its name; "
                            + "class names are written one per line to class_names.txt: rename the folder")
        }
        guard !names.isEmpty else {
            if single { throw DataError(Self.noLayout(directory, "it holds no subfolders")) }
            throw DataError("\(splitPath) holds no class folders (expected \(splitPath)/<class>/<pictures>)")
        }
        // In the single layout DIR's subfolders are only guessed to be classes: if none holds a
        // picture, DIR is no image folder at all, and the error says what one looks like.
        if single && !names.contains(where: { holdsPicture((splitPath as NSString).appendingPathComponent($0)) }) {
            throw DataError(Self.noLayout(directory, "its subfolders hold no .png, .jpg or .jpeg pictures"))
        }
        return names
    }

    /// Whether `folder` holds a picture at any depth; stops at the first, so it is cheap on a real class folder.
    private func holdsPicture(_ folder: String) -> Bool {
        var found = false
        _ = try? PictureFile.walk(Self.followed(folder)) { _ in found = true; return false }
        return found
    }

    /// The error for a folder in neither layout, naming both.
    private static func noLayout(_ directory: String, _ reason: String) -> String {
        "\(directory) is not an image folder (\(reason)); the folder format reads \(directory)/train/<class>/* and "
            + "\(directory)/test/<class>/*, or \(directory)/<class>/* alone (training pictures only, with a validation_split)"
    }

    /// A class folder may be a symbolic link, as Keras's image_dataset_from_directory follows them;
    /// FileManager's walk does not enter a link it starts from, so it walks the folder the link names.
    /// (Links to folders inside a class folder are not followed.)
    static func followed(_ folder: String) -> String {
        guard let resolved = realpath(folder, nil) else { return folder }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private func path(_ split: String) -> String { (directory as NSString).appendingPathComponent(split) }

    private func isDirectory(_ path: String) -> Bool {
        var directory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &directory) && directory.boolValue
    }


    static func list(_ names: [String]) -> String {
        names.count <= 12 ? names.joined(separator: ", ") : names.prefix(12).joined(separator: ", ") + ", ..."
    }
}
