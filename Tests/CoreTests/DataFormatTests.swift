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
        XCTAssertEqual(DataFormat.names, ["idx", "csv", "npz", "folder"])
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

    func testUnknownFormatIsNamed() {
        XCTAssertThrowsError(try DataFormat.files(format: "parquet", directory: "/tmp")) { error in
            XCTAssertEqual("\(error)", "unknown data format \"parquet\" (expected one of idx, csv, npz, folder)")
        }
    }
}
