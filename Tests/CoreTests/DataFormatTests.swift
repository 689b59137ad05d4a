import ConvNetData
import DataFormats
import Foundation
import Images
import TestSupport
import XCTest

/// The `csv`, `npz` and `folder` readers: the same samples as IDX for the same pictures (whole and sharded),
/// and one clear error per malformed case.
final class DataFormatTests: XCTestCase {
    /// 7 images of 4x3 pixels, labels 0-6.
    private let pixels = (0..<84).map { UInt8(($0 * 37) % 256) }
    private let labels: [UInt8] = [0, 1, 2, 3, 4, 5, 6]
    private let shape = [4, 3, 1]

    private func folder(_ files: [String: Data]) throws -> String {
        let directory = try makeTemporaryDirectory(self)
        for (name, data) in files { try data.write(to: URL(fileURLWithPath: directory + "/" + name)) }
        return directory
    }

    private func csvFolder(train: String? = nil) throws -> String {
        let text = FormatWriters.csv(pixels: pixels, labels: labels, pixelsPerImage: 12)
        return try folder(["train.csv": Data((train ?? text).utf8), "test.csv": Data(text.utf8)])
    }

    private func npzFolder(_ arrays: [(name: String, data: Data)]? = nil) throws -> String {
        let directory = try makeTemporaryDirectory(self)
        let x = FormatWriters.npy(shape: [7, 4, 3], data: pixels), y = FormatWriters.npy(shape: [7], data: labels)
        try FormatWriters.npz(path: directory + "/mnist.npz", arrays: arrays ?? [("x_train", x), ("y_train", y), ("x_test", x), ("y_test", y)])
        return directory
    }

    private func idxFolder() throws -> String {
        let directory = try makeTemporaryDirectory(self)
        for prefix in ["train", "t10k"] {
            try IDXWriter.writeSet(directory: directory, prefix: prefix, pixels: pixels, labels: labels, rows: 4, columns: 3)
        }
        return directory
    }

    private func load(_ format: String, _ directory: String, shard: Shard = .whole, classes: Int = 10) throws -> LabelledImages {
        try DataFormat.files(format: format, directory: directory).loadTraining(shard: shard, expectedShape: shape, classes: classes)
    }

    /// PNGs in train/<label>/ and test/<label>/ (one per class: an image folder knows only the classes it has).
    private func imageFolder() throws -> String {
        let directory = try makeTemporaryDirectory(self)
        let set = LabelledImages(pixels: pixels, labels: labels, height: 4, width: 3, channels: 1)
        for split in ["train", "test"] { try ImageFolderWriter.write(set, to: directory + "/" + split, encoding: .png) }
        return directory
    }

    private func assertError(_ format: String, _ directory: String, contains text: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try load(format, directory), file: file, line: line) { error in
            XCTAssertTrue("\(error)".contains(text), "\(error)", file: file, line: line)
        }
    }

    func testEveryFormatGivesTheSameSamplesAsIDX() throws {
        let folders = ["idx": try idxFolder(), "csv": try csvFolder(), "npz": try npzFolder(), "folder": try imageFolder()]
        for shard in [Shard.whole, Shard(index: 1, count: 3)] {
            let reference = try load("idx", folders["idx"]!, shard: shard)
            for format in ["csv", "npz", "folder"] {
                let ours = try load(format, folders[format]!, shard: shard, classes: format == "folder" ? 7 : 10)
                XCTAssertEqual(ours.pixels, reference.pixels, "\(format) \(shard)")
                XCTAssertEqual(ours.labels, reference.labels, "\(format) \(shard)")
                XCTAssertEqual(ours.totalCount, 7)
                XCTAssertEqual(ours.shard, shard)
            }
        }
        XCTAssertEqual(DataFormat.names, ["idx", "csv", "npz", "folder", "cifar10"])
    }

    func testMalformedCSVFilesAreRefused() throws {
        let good = FormatWriters.csv(pixels: pixels, labels: labels, pixelsPerImage: 12)
        var lines = good.split(separator: "\n").map(String.init)
        lines[3] += ",7"
        assertError("csv", try csvFolder(train: lines.joined(separator: "\n")), contains: "train.csv line 4: 14 values, expected 13")
        lines = good.split(separator: "\n").map(String.init)
        lines[2] = lines[2].replacingOccurrences(of: ",", with: ",300,", options: [], range: lines[2].range(of: ","))
            .split(separator: ",").prefix(13).joined(separator: ",")
        assertError("csv", try csvFolder(train: lines.joined(separator: "\n")), contains: "train.csv line 3, column pixel0: \"300\" is not a whole number 0...255")
        let unlabelled = good.split(separator: "\n").map { $0.split(separator: ",").dropFirst().joined(separator: ",") }.joined(separator: "\n")
        assertError("csv", try csvFolder(train: unlabelled), contains: "is for `predict`, not for training")
        assertError("csv", try csvFolder(train: good.replacingOccurrences(of: "\n5,", with: "\n12,")), contains: "label 12 of sample 5 is out of range for 10 classes")
        assertError("csv", try makeTemporaryDirectory(self), contains: "train.csv: cannot open file")
    }

    func testMalformedNPZFilesAreRefused() throws {
        let x = FormatWriters.npy(shape: [7, 4, 3], data: pixels), y = FormatWriters.npy(shape: [7], data: labels)
        let floats = FormatWriters.npy(descr: "<f4", shape: [7, 4, 3], data: [UInt8](repeating: 0, count: 336))
        assertError("npz", try npzFolder([("x_train", floats), ("y_train", y)]), contains: "dtype <f4 is not an integer type")
        assertError("npz", try npzFolder([("x_train", x)]), contains: "no array y_train (holds: x_train)")
        assertError("npz", try npzFolder([("x_train", x), ("y_train", FormatWriters.npy(shape: [6], data: Array(labels.prefix(6))))]),
                    contains: "y_train has shape [6] but x_train holds 7 images")
        assertError("npz", try npzFolder([("x_train", FormatWriters.npy(shape: [7, 4, 3], data: Array(pixels.prefix(80)))), ("y_train", y)]),
                    contains: "the header promises 84 bytes of data, found 80")
        assertError("npz", try npzFolder([("x_train", FormatWriters.npy(shape: [1 << 30, 1 << 20], data: [])), ("y_train", y)]),
                    contains: "is too large")
        let garbage = try folder(["mnist.npz": Data("not a zip file".utf8)])
        assertError("npz", garbage, contains: "not a readable .npz (ZIP) file")
        assertError("npz", try makeTemporaryDirectory(self), contains: "no .npz file in")
        let wide = FormatWriters.npy(descr: "<i8", shape: [7], data: labels.flatMap { [$0, 0, 0, 0, 0, 0, 0, 0] })
        XCTAssertEqual(try load("npz", try npzFolder([("x_train", x), ("y_train", wide)])).labels, labels, "int64 labels are read")
    }

    /// An image folder in the single layout (`DIR/<class>/*`) reads the same samples, whole and
    /// sharded, as the same pictures in `DIR/train/<class>/*`, and says it has no test set.
    func testImageFolderSingleLayoutReadsTheSameSamplesAsTrain() throws {
        let split = try makeTemporaryDirectory(self), single = try makeTemporaryDirectory(self)
        for (k, name) in ["a", "b"].enumerated() {
            for root in ["\(split)/train/\(name)", "\(split)/test/\(name)", "\(single)/\(name)"] {
                try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
                for i in 0..<(3 + k) {
                    let picture = Picture(width: 3, height: 4, channels: 1, pixels: (0..<12).map { UInt8(($0 * 37 + i * 11 + k * 101) % 256) })
                    try PNG.encode(picture).write(to: URL(fileURLWithPath: "\(root)/\(i).png"))
                }
            }
        }
        let splitFiles = try DataFormat.files(format: "folder", directory: split)
        let singleFiles = try DataFormat.files(format: "folder", directory: single)
        XCTAssertTrue(splitFiles.hasTestSet)
        XCTAssertFalse(singleFiles.hasTestSet)
        XCTAssertEqual(try singleFiles.classNames(), ["a", "b"])
        for shard in [Shard.whole, Shard(index: 1, count: 3)] {
            let ours = try singleFiles.loadTraining(shard: shard, expectedShape: shape, classes: 2)
            let reference = try splitFiles.loadTraining(shard: shard, expectedShape: shape, classes: 2)
            XCTAssertEqual(ours.pixels, reference.pixels, "\(shard)")
            XCTAssertEqual(ours.labels, reference.labels, "\(shard)")
            XCTAssertEqual(ours.totalCount, 7)
        }
        XCTAssertThrowsError(try singleFiles.loadTest(shard: .whole, expectedShape: shape, classes: 2)) { error in
            XCTAssertTrue("\(error)".contains("\(single) has no test set"), "\(error)")
        }
    }

    // Issue 23: sizes bounded by the file, columns by name, duplicates refused, names that survive.

    /// pandas may write the pixel columns in lexical order (label,pixel0,pixel1,pixel10,...): the
    /// values go where their names say, so the samples are IDX's. Fashion-MNIST's CSV numbers from 1.
    func testCSVPixelColumnsAreReadByName() throws {
        let reference = try load("idx", try idxFolder())
        let order = (0..<12).sorted { String($0) < String($1) }   // 0, 1, 10, 11, 2, ...
        var lexical = ["label," + order.map { "pixel\($0)" }.joined(separator: ",")]
        var oneBased = ["label," + (1...12).map { "pixel\($0)" }.joined(separator: ",")]
        for (n, label) in labels.enumerated() {
            lexical.append("\(label)," + order.map { String(pixels[n * 12 + $0]) }.joined(separator: ","))
            oneBased.append("\(label)," + (0..<12).map { String(pixels[n * 12 + $0]) }.joined(separator: ","))
        }
        for text in [lexical, oneBased] {
            let ours = try load("csv", try csvFolder(train: text.joined(separator: "\n") + "\n"))
            XCTAssertEqual(ours.pixels, reference.pixels, text[0])
            XCTAssertEqual(ours.labels, reference.labels)
        }
        let twice = FormatWriters.csv(pixels: pixels, labels: labels, pixelsPerImage: 12).replacingOccurrences(of: "pixel11\n", with: "pixel3\n")
        assertError("csv", try csvFolder(train: twice), contains: "two columns named pixel3")
    }

    /// A CSV file over the limit is refused from its size, unread (a 2 GiB one was read, then aborted).
    func testCSVFileOverTheLimitIsRefusedUnread() throws {
        let directory = try csvFolder()
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: directory + "/train.csv"))
        try handle.truncate(atOffset: UInt64(KaggleCSVFiles.maximumFileBytes + 1))   // sparse: no disk used
        try handle.close()
        let started = Date()
        assertError("csv", directory, contains: "train.csv: \(KaggleCSVFiles.maximumFileBytes + 1) bytes; the csv format reads files up to 1024 MiB")
        XCTAssertLessThan(Date().timeIntervalSince(started), 1)
    }

    /// Errors quote the user's input on one line, cut: a quoted newline in a field, a 10 KB header.
    func testCSVErrorsQuoteInputOnOneShortLine() throws {
        let good = FormatWriters.csv(pixels: pixels, labels: labels, pixelsPerImage: 12)
        let newline = good.replacingOccurrences(of: "\n3,", with: "\n\"3\n4\",")
        assertError("csv", try csvFolder(train: newline), contains: "column label: \"3\\n4\" is not a whole number")
        let long = "x" + String(repeating: "y", count: 10_000) + good.drop { $0 != "," }
        for text in [newline, long] {
            XCTAssertThrowsError(try load("csv", try csvFolder(train: text))) { error in
                XCTAssertFalse("\(error)".contains("\n"), "\(error)")
                XCTAssertLessThan("\(error)".count, 400, "\(error)")
            }
        }
    }

    /// No samples of a huge shape, and a shape whose sample size overflows: errors, not a trap or an abort.
    func testNPZEmptyArraysOfHugeShapesAreRefused() throws {
        let y = FormatWriters.npy(shape: [0], data: [])
        for shape in [[0, 1 << 31, 1 << 31], [0, 1 << 31, 1 << 31, 1 << 31]] {
            let x = FormatWriters.npy(shape: shape, data: [])
            assertError("npz", try npzFolder([("x_train", x), ("y_train", y)]), contains: "is too large")
        }
    }

    /// A header of thousands of dimensions or a long dtype is not echoed whole.
    func testNPZErrorsAreCutShort() throws {
        let y = FormatWriters.npy(shape: [7], data: labels)
        let deep = FormatWriters.npy(shape: [Int](repeating: 1, count: 3000), data: [1])
        assertError("npz", try npzFolder([("x_train", deep), ("y_train", y)]), contains: "x_train has shape [1, 1, 1, 1, 1, 1, ... (3000 dimensions)]")
        let wide = FormatWriters.npy(descr: "<" + String(repeating: "f", count: 5000), shape: [7, 4, 3], data: pixels)
        XCTAssertThrowsError(try load("npz", try npzFolder([("x_train", wide), ("y_train", y)]))) { error in
            XCTAssertLessThan("\(error)".count, 400, "\(error)")
        }
    }

    /// Two members named x_train.npy: NumPy takes the last, ZIPFoundation the first; refused.
    func testNPZDuplicateMembersAreRefused() throws {
        let x = FormatWriters.npy(shape: [7, 4, 3], data: pixels), y = FormatWriters.npy(shape: [7], data: labels)
        let other = FormatWriters.npy(shape: [7, 4, 3], data: pixels.reversed())
        assertError("npz", try npzFolder([("x_train", x), ("y_train", y), ("x_train", other)]), contains: "holds 2 members named x_train.npy")
    }

    /// One PNG per class folder name in `root`, by raw bytes (names need not be UTF-8).
    private func pictures(in root: String, _ names: [[UInt8]]) throws {
        for (i, name) in names.enumerated() {
            let folder = Array(root.utf8) + [47] + name
            mkdir(folder.map { CChar(bitPattern: $0) } + [0], 0o755)
            let picture = Picture(width: 3, height: 4, channels: 1, pixels: (0..<12).map { UInt8(($0 * 37 + i * 11) % 256) })
            let file = (folder + Array("/0.png".utf8)).map { CChar(bitPattern: $0) } + [0]
            let data = [UInt8](PNG.encode(picture))
            let descriptor = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            XCTAssertEqual(data.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }, data.count)
            close(descriptor)
        }
    }

    /// A class folder named with a newline would be two lines of class_names.txt: refused, on one line.
    func testImageFolderClassNameWithANewlineIsRefused() throws {
        let directory = try makeTemporaryDirectory(self)
        try pictures(in: directory, [Array("a\nb".utf8), Array("c".utf8)])
        XCTAssertThrowsError(try DataFormat.files(format: "folder", directory: directory).classNames()) { error in
            XCTAssertTrue("\(error)".contains("the class folder \"a\\nb\" has a control character"), "\(error)")
        }
        let set = LabelledImages(pixels: pixels, labels: labels, height: 4, width: 3, channels: 1)
        XCTAssertThrowsError(try ImageFolderWriter.write(set, to: directory + "/out", classNames: ["0", "1\n2", "3", "4", "5", "6", "7"],
                                                         encoding: .png)) { error in
            XCTAssertTrue("\(error)".contains("the class name \"1\\n2\" cannot be a folder name"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/out"), "nothing written")
    }

    /// A folder that cannot be made is reported in the system's words, not as "NSCocoaErrorDomain error 512".
    func testImageFolderWriterErrorsAreInPlainWords() throws {
        let file = try makeTemporaryDirectory(self) + "/file"
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data()))
        let set = LabelledImages(pixels: pixels, labels: labels, height: 4, width: 3, channels: 1)
        XCTAssertThrowsError(try ImageFolderWriter.write(set, to: file + "/out", encoding: .png)) { error in
            XCTAssertEqual("\(error)", "cannot create folder \(file)/out/0: Not a directory")
        }
    }

    /// A class folder that is a symbolic link is followed, as Keras's image_dataset_from_directory does.
    func testImageFolderClassFolderLinksAreFollowed() throws {
        let copied = try makeTemporaryDirectory(self), linked = try makeTemporaryDirectory(self), elsewhere = try makeTemporaryDirectory(self)
        try pictures(in: copied, [Array("a".utf8), Array("b".utf8)])
        try pictures(in: elsewhere, [Array("a".utf8)])
        try pictures(in: linked, [Array("placeholder".utf8), Array("b".utf8)])
        try FileManager.default.removeItem(atPath: linked + "/placeholder")
        try FileManager.default.createSymbolicLink(atPath: linked + "/a", withDestinationPath: elsewhere + "/a")
        let reference = try DataFormat.files(format: "folder", directory: copied).loadTraining(shard: .whole, expectedShape: shape, classes: 2)
        let ours = try DataFormat.files(format: "folder", directory: linked).loadTraining(shard: .whole, expectedShape: shape, classes: 2)
        XCTAssertEqual(ours.pixels, reference.pixels)
        XCTAssertEqual(ours.labels, reference.labels)
    }

    /// A picture whose name is not UTF-8 cannot be opened through Foundation: an error naming it (bytes
    /// shown as \xHH), or with skip_bad_files a warning; never left out without a word.
    func testImageFolderNamesThatAreNotUTF8AreNotLostSilently() throws {
        let directory = try makeTemporaryDirectory(self)
        try pictures(in: directory, [Array("a".utf8), Array("b".utf8)])
        let latin1 = Array(directory.utf8) + Array("/b/caf".utf8) + [0xE9] + Array(".png".utf8)
        XCTAssertEqual(link((Array(directory.utf8) + Array("/b/0.png".utf8)).map { CChar(bitPattern: $0) } + [0],
                            latin1.map { CChar(bitPattern: $0) } + [0]), 0)
        XCTAssertThrowsError(try load("folder", directory, classes: 2)) { error in
            XCTAssertTrue("\(error)".contains("holds 1 picture or folder name(s) that are not UTF-8 (the first: \"b/caf\\xE9.png\")"), "\(error)")
        }
        let warnings = LockedWarnings()
        var options = DataSetOptions(skipBadFiles: true)
        options.warn = { warnings.append($0) }
        let set = try DataFormat.files(format: "folder", directory: directory, options: options)
            .loadTraining(shard: .whole, expectedShape: shape, classes: 2)
        XCTAssertEqual(set.count, 2)
        XCTAssertTrue(warnings.all.contains { $0.contains("skipped 1 picture or folder name(s) that are not UTF-8") }, "\(warnings.all)")
    }

    func testUnknownFormatIsNamed() {
        XCTAssertThrowsError(try DataFormat.files(format: "parquet", directory: "/tmp")) { error in
            XCTAssertEqual("\(error)", "unknown data format \"parquet\" (expected one of idx, csv, npz, folder, cifar10)")
        }
    }
}

/// Warnings collected from the reader's threads.
private final class LockedWarnings: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func append(_ warning: String) { lock.lock(); items.append(warning); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return items }
}
