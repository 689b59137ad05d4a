import ConvNetConfig
import ConvNetCore
import ConvNetData
import DataFormats
import Foundation
import Images
import TestSupport
import Training
import XCTest

/// Image folders (`[data] format = "folder"`): pictures of any size and colour, class names from
/// the folders into the run folder, checkpoints and `predict`, and every malformed folder refused
/// with its own one-line error.
final class ImageFolderTests: XCTestCase {
    /// A small RGB model (8x8x3 input, 3 classes) and a folder of mixed pictures for it: JPEG and PNG,
    /// RGB and grey, 8x8 and 12x10 (resized), in classes "circle", "cross", "square".
    private func makeShapes() throws -> (folder: String, config: String) {
        let folder = try makeTemporaryDirectory(self)
        let classes = ["circle", "cross", "square"]
        for split in ["train", "test"] {
            for (k, name) in classes.enumerated() {
                let directory = "\(folder)/\(split)/\(name)"
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                for i in 0..<(split == "train" ? 24 : 6) {
                    let (width, height, channels) = i % 3 == 0 ? (12, 10, 1) : (8, 8, 3)
                    let pixels = (0..<(width * height * channels)).map { p -> UInt8 in
                        let x = p / channels % width, y = p / channels / width
                        let on = k == 0 ? (x - width / 2) * (x - width / 2) + (y - height / 2) * (y - height / 2) < 9
                            : k == 1 ? x == y || x == width - 1 - y : x == 1 || y == 1 || x == width - 2 || y == height - 2
                        return on ? UInt8(200 + (i * 7 + p) % 55) : UInt8((i * 13 + p) % 40)
                    }
                    let picture = Picture(width: width, height: height, channels: channels, pixels: pixels)
                    let data = i % 2 == 0 ? PNG.encode(picture) : JPEG.encode(picture, quality: 95)
                    try data.write(to: URL(fileURLWithPath: "\(directory)/\(String(format: "%03d", i)).\(i % 2 == 0 ? "png" : "jpg")"))
                }
            }
        }
        let config = """
            [data]
            format = "folder"

            [model]
            input_shape = [8, 8, 3]
            classes = 3

            [[model.layers]]
            type = "conv2d"
            filters = 4
            kernel_size = 3
            activation = "relu"

            [[model.layers]]
            type = "flatten"

            [[model.layers]]
            type = "dense"
            units = 3
            activation = "softmax"

            [training]
            epochs = 3
            batch_size = 8
            """
        let path = folder + "/shapes.toml"
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        return (folder, path)
    }

    func testMixedPicturesTrainAndClassNamesReachPredict() throws {
        let (folder, config) = try makeShapes()
        let run = try makeTemporaryDirectory(self)
        let result = try runCommand(productBinary, ["train", "--config", config, "--data-dir", folder, "--run-dir", run, "--threads", "2"])
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertTrue(result.output.contains("Training on 72 samples"), result.output)
        XCTAssertTrue(result.output.contains("\(folder)/train: decoded 72 pictures in "), result.output)
        XCTAssertEqual(try String(contentsOfFile: run + "/class_names.txt", encoding: .utf8), "circle\ncross\nsquare\n")
        let checkpoint = try CheckpointStore(runDirectory: run, keep: 3).latest()
        XCTAssertEqual(try Checkpoint.load(path: checkpoint).classNames, ["circle", "cross", "square"])
        let accuracy = try XCTUnwrap(Double(try String(contentsOfFile: run + "/metrics.csv", encoding: .utf8)
            .split(separator: "\n").last!.split(separator: ",")[5]))
        XCTAssertGreaterThan(accuracy, 0.8, "three easy shapes are learnt in 3 epochs")

        // 2 ranks decode half the pictures each and train the same bytes.
        let run2 = try makeTemporaryDirectory(self)
        let two = try runUnderMPI(2, ["train", "--config", config, "--data-dir", folder, "--run-dir", run2, "--threads", "1", "--quiet"])
        XCTAssertEqual(two.status, 0, two.error)
        let one = try makeTemporaryDirectory(self)
        XCTAssertEqual(try runCommand(productBinary, ["train", "--config", config, "--data-dir", folder, "--run-dir", one,
                                                       "--threads", "1", "--quiet"]).status, 0)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: run2 + "/model.safetensors")),
                       try Data(contentsOf: URL(fileURLWithPath: one + "/model.safetensors")))

        // predict: a folder and single files, text and JSON, with class names.
        let text = try runCommand(productBinary, ["predict", "--checkpoint", checkpoint, "--top", "1", "\(folder)/test/cross"])
        XCTAssertEqual(text.status, 0, text.error)
        let lines = text.output.split(separator: "\n")
        XCTAssertEqual(lines.count, 6, text.output)
        XCTAssertGreaterThanOrEqual(lines.filter { $0.contains(": cross (") }.count, 5, text.output)
        let json = try runCommand(productBinary, ["predict", "--checkpoint", checkpoint, "--json",
                                                  "\(folder)/test/circle/001.jpg", "\(folder)/test/square/000.png"])
        XCTAssertEqual(json.status, 0, json.error)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])
        XCTAssertEqual(object["class_names"] as? [String], ["circle", "cross", "square"])
        let predictions = try XCTUnwrap(object["predictions"] as? [[String: Any]])
        XCTAssertEqual(predictions.map { $0["class"] as? String }, ["circle", "square"])
        XCTAssertEqual(predictions.map { $0["index"] as? Int }, [0, 2])
        let probabilities = try XCTUnwrap(predictions[0]["probabilities"] as? [Double])
        XCTAssertEqual(probabilities.count, 3)
        XCTAssertEqual(probabilities.reduce(0, +), 1, accuracy: 1e-5)

        // The same counts under other names: the checkpoint's classes are not the data's.
        for split in ["train", "test"] {
            try FileManager.default.moveItem(atPath: "\(folder)/\(split)/circle", toPath: "\(folder)/\(split)/ellipse")
        }
        let renamed = try runCommand(productBinary, ["evaluate", "--checkpoint", checkpoint, "--data-dir", folder])
        XCTAssertNotEqual(renamed.status, 0)
        XCTAssertTrue(renamed.error.contains("was trained on classes circle, cross, square but the data holds cross, ellipse, square"), renamed.error)
    }

    /// The shapes folder's training pictures in the single layout (`DIR/<class>/*`, no test set).
    private func makeSingleShapes() throws -> (single: String, split: String, config: String) {
        let (folder, config) = try makeShapes()
        let single = try makeTemporaryDirectory(self)
        for name in ["circle", "cross", "square"] {
            try FileManager.default.copyItem(atPath: "\(folder)/train/\(name)", toPath: "\(single)/\(name)")
        }
        return (single, folder, config)
    }

    /// `metrics.csv` as one dictionary per row.
    private func metrics(_ run: String) throws -> [[String: String]] {
        let lines = try String(contentsOfFile: run + "/metrics.csv", encoding: .utf8).split(separator: "\n")
        let header = lines[0].split(separator: ",").map(String.init)
        return lines.dropFirst().map {
            Dictionary(uniqueKeysWithValues: zip(header, $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)))
        }
    }

    private func weights(_ run: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: run + "/model.safetensors")) }

    /// The single layout (`DIR/<class>/*`) trains on its validation tail alone: the epoch lines,
    /// metrics.csv and curves.svg carry no test figures and no confusion matrix is written; the same
    /// pictures in the split layout (train/ only feeds training) hold out the same samples and train
    /// the same bytes, and so does `convert`'s copy; 2 ranks train the same bytes as 1.
    func testSingleLayoutTrainsWithValidationSplitOnly() throws {
        let (single, split, config) = try makeSingleShapes()
        let run = try makeTemporaryDirectory(self)
        let common = ["--config", config, "--validation-split", "0.25", "--epochs", "4"]
        let result = try runCommand(productBinary, ["train", "--data-dir", single, "--run-dir", run, "--threads", "2"] + common)
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertTrue(result.output.contains("Training on 54 samples (18 more held out for validation)"), result.output)
        XCTAssertTrue(result.output.contains("\(single): decoded 72 pictures in "), result.output)
        let epochLines = result.output.split(separator: "\n").filter { $0.hasPrefix("Epoch ") && $0.contains(" steps - ") }
        XCTAssertEqual(epochLines.count, 4, result.output)
        XCTAssertTrue(epochLines.allSatisfy { $0.contains(" - val_accuracy: ") && !$0.contains("test_") }, result.output)
        XCTAssertEqual(try String(contentsOfFile: run + "/class_names.txt", encoding: .utf8), "circle\ncross\nsquare\n")
        let rows = try metrics(run)
        XCTAssertEqual(rows.count, 4)
        for row in rows {
            XCTAssertEqual(row["test_loss"], "", "\(row)")
            XCTAssertEqual(row["test_accuracy"], "", "\(row)")
            XCTAssertNotNil(Double(row["val_loss"] ?? ""), "\(row)")
        }
        let valAccuracy = try XCTUnwrap(Double(rows.last!["val_accuracy"]!))
        XCTAssertGreaterThan(valAccuracy, 0.8, "three easy shapes are told apart on the 18 held-out pictures")
        let curves = try String(contentsOfFile: run + "/curves.svg", encoding: .utf8)
        XCTAssertTrue(curves.contains("val (last \(String(format: "%.2f", 100 * valAccuracy)))"), "curves.svg draws the validation curve")
        XCTAssertFalse(curves.contains("test (last"), "no test curve without a test set")
        for file in ["confusion.csv", "confusion.svg"] {
            XCTAssertFalse(FileManager.default.fileExists(atPath: run + "/" + file), "\(file) needs a test set")
        }
        XCTAssertEqual(try runCommand(productBinary, ["plot", run]).status, 0, "plot reads the empty test fields")

        // The split layout: the same training pictures, so the same held-out tail and the same weights.
        let splitRun = try makeTemporaryDirectory(self)
        let splitResult = try runCommand(productBinary, ["train", "--data-dir", split, "--run-dir", splitRun, "--threads", "2"] + common)
        XCTAssertEqual(splitResult.status, 0, splitResult.error)
        XCTAssertEqual(try weights(splitRun), try weights(run), "the single and split layouts train the same bytes")
        let splitRows = try metrics(splitRun)
        XCTAssertEqual(splitRows.map { [$0["val_loss"], $0["val_accuracy"]] }, rows.map { [$0["val_loss"], $0["val_accuracy"]] })
        XCTAssertTrue(splitRows.allSatisfy { Double($0["test_accuracy"] ?? "") != nil }, "the split layout keeps its test figures")

        // convert writes a set without a test set in the single layout, which reads back to the same samples.
        let converted = try makeTemporaryDirectory(self) + "/converted", convertedRun = try makeTemporaryDirectory(self)
        let conversion = try runCommand(productBinary, ["convert", "--config", config, "--data-dir", single, "--output", converted])
        XCTAssertEqual(conversion.status, 0, conversion.error)
        XCTAssertFalse(FileManager.default.fileExists(atPath: converted + "/train"), "no train/: the single layout")
        XCTAssertEqual(try runCommand(productBinary, ["train", "--data-dir", converted, "--run-dir", convertedRun, "--threads", "2", "--quiet"]
                                                     + common).status, 0)
        XCTAssertEqual(try weights(convertedRun), try weights(run))

        // 2 ranks: the same bytes; JSON epoch events omit the test figures.
        let run2 = try makeTemporaryDirectory(self)
        let two = try runUnderMPI(2, ["train", "--data-dir", single, "--run-dir", run2, "--threads", "1", "--json-logs"] + common)
        XCTAssertEqual(two.status, 0, two.error)
        XCTAssertEqual(try weights(run2), try weights(run))
        let events = try two.output.split(separator: "\n").compactMap { line -> [String: Any]? in
            guard line.hasPrefix("{") else { return nil }
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return object?["event"] as? String == "epoch" ? object : nil
        }
        XCTAssertEqual(events.count, 4, two.output)
        for event in events {
            XCTAssertNil(event["test_loss"], "\(event)")
            XCTAssertNil(event["test_accuracy"], "\(event)")
            XCTAssertNotNil(event["val_accuracy"] as? Double, "\(event)")
        }

        // evaluate needs a test set: refused on the single folder, fine on the split one.
        let checkpoint = try CheckpointStore(runDirectory: run, keep: 3).latest()
        let refused = try runCommand(productBinary, ["evaluate", "--checkpoint", checkpoint, "--data-dir", single])
        XCTAssertNotEqual(refused.status, 0, refused.output)
        XCTAssertFalse(refused.crashed, refused.error)
        XCTAssertEqual(refused.error.split(separator: "\n").count, 1, refused.error)
        XCTAssertTrue(refused.error.contains("\(single) has no test set"), refused.error)
        let evaluated = try runCommand(productBinary, ["evaluate", "--checkpoint", checkpoint, "--data-dir", split])
        XCTAssertEqual(evaluated.status, 0, evaluated.error)
        XCTAssertTrue(evaluated.output.contains("(18 images)"), evaluated.output)
    }

    /// Without a test set, training needs a split; a folder in neither layout, or with test/ but no
    /// train/, is refused with one line naming both layouts.
    func testSingleLayoutRefusals() throws {
        let (single, _, config) = try makeSingleShapes()
        func failure(_ folder: String) throws -> String {
            let result = try runCommand(productBinary, ["train", "--config", config, "--data-dir", folder, "--max-steps", "1",
                                                        "--run-dir", try makeTemporaryDirectory(self), "--threads", "2"])
            XCTAssertNotEqual(result.status, 0, result.output)
            XCTAssertFalse(result.crashed, result.error)
            let errors = result.error.split(separator: "\n").filter { !$0.hasPrefix("warning:") }
            XCTAssertEqual(errors.count, 1, result.error)
            return String(errors.first ?? "")
        }
        let noSplit = try failure(single)
        XCTAssertTrue(noSplit.contains("\(single) has no test/ folder: add \(single)/test/<class>/* or set validation_split"), noSplit)

        let bothLayouts = "the folder format reads "
        let empty = try makeTemporaryDirectory(self)
        try Data("notes".utf8).write(to: URL(fileURLWithPath: empty + "/README.txt"))
        let none = try failure(empty)
        XCTAssertTrue(none.contains("\(empty) is not an image folder (it holds no subfolders); \(bothLayouts)"), none)
        XCTAssertTrue(none.contains("\(empty)/train/<class>/*") && none.contains("\(empty)/<class>/* alone"), none)
        let pictureless = try makeTemporaryDirectory(self)
        try FileManager.default.createDirectory(atPath: pictureless + "/logs", withIntermediateDirectories: true)
        try Data("notes".utf8).write(to: URL(fileURLWithPath: pictureless + "/logs/run.txt"))
        let noPictures = try failure(pictureless)
        XCTAssertTrue(noPictures.contains("\(pictureless) is not an image folder (its subfolders hold no .png, .jpg or .jpeg pictures); \(bothLayouts)"),
                      noPictures)
        let testOnly = try makeTemporaryDirectory(self)
        try FileManager.default.copyItem(atPath: single, toPath: testOnly + "/test")
        let halfSplit = try failure(testOnly)
        XCTAssertTrue(halfSplit.contains("\(testOnly) is not an image folder (it has test/ but no train/ folder); \(bothLayouts)"), halfSplit)
    }

    /// Every malformed folder gets its own one-line error naming what is wrong, and a non-zero exit.
    func testMalformedFoldersAreRefused() throws {
        func failure(_ prepare: (String) throws -> Void, extra: [String] = []) throws -> String {
            let (folder, config) = try makeShapes()
            try prepare(folder)
            let result = try runCommand(productBinary, ["train", "--config", config, "--data-dir", folder, "--max-steps", "1",
                                                        "--run-dir", try makeTemporaryDirectory(self), "--threads", "2"] + extra)
            XCTAssertNotEqual(result.status, 0, result.output)
            XCTAssertFalse(result.crashed, result.error)
            let errors = result.error.split(separator: "\n").filter { !$0.hasPrefix("warning:") }
            XCTAssertEqual(errors.count, 1, result.error)
            return String(errors.first ?? "")
        }
        func write(_ data: Data, _ path: String) throws { try data.write(to: URL(fileURLWithPath: path)) }
        let truncatedPNG = try failure { folder in
            let path = "\(folder)/train/cross/004.png"
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            try write(bytes.prefix(bytes.count - 30), path)
        }
        XCTAssertTrue(truncatedPNG.contains("/train/cross/004.png: corrupt PNG ("), truncatedPNG)
        XCTAssertTrue(truncatedPNG.contains("skip_bad_files"), truncatedPNG)
        let truncatedJPEG = try failure { folder in
            let path = "\(folder)/train/square/005.jpg"
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            try write(bytes.prefix(bytes.count / 2), path)
        }
        XCTAssertTrue(truncatedJPEG.contains("/train/square/005.jpg: cannot decode JPEG ("), truncatedJPEG)
        let huge = try failure { try write(FormatWriters.pngClaiming(width: 100_000, height: 100_000), "\($0)/train/circle/000.png") }
        XCTAssertTrue(huge.contains("/train/circle/000.png: the PNG header claims 100000x100000 pixels"), huge)
        let empty = try failure { folder in
            try FileManager.default.createDirectory(atPath: "\(folder)/train/diamond", withIntermediateDirectories: true)
            try write(Data("notes".utf8), "\(folder)/train/diamond/README.txt")
        }
        XCTAssertTrue(empty.contains("/train/diamond: the class folder \"diamond\" holds no .png, .jpg or .jpeg pictures"), empty)
        let fewer = try failure { try FileManager.default.removeItem(atPath: "\($0)/train/square") }
        XCTAssertTrue(fewer.contains("/train holds 2 class folders (circle, cross) but the model has 3 classes"), fewer)
        let otherTest = try failure { try FileManager.default.moveItem(atPath: "\($0)/test/square", toPath: "\($0)/test/box") }
        XCTAssertTrue(otherTest.contains("/test holds classes box, circle, cross but"), otherTest)
        let missing = try failure { try FileManager.default.removeItem(atPath: "\($0)/test") }
        XCTAssertTrue(missing.contains("/test is not a folder; the folder format needs"), missing)
    }

    /// With `skip_bad_files = true` a damaged picture is left out with a warning; other files are
    /// skipped with a count; 2 ranks agree on what is left and train the same bytes as 1.
    func testSkipBadFilesLeavesDamagedPicturesOut() throws {
        let (folder, config) = try makeShapes()
        var text = try String(contentsOfFile: config, encoding: .utf8)
        text = text.replacingOccurrences(of: "format = \"folder\"", with: "format = \"folder\"\nskip_bad_files = true")
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        let damaged = "\(folder)/train/cross/002.png"
        try Data(try Data(contentsOf: URL(fileURLWithPath: damaged)).prefix(60)).write(to: URL(fileURLWithPath: damaged))
        try Data("a note".utf8).write(to: URL(fileURLWithPath: "\(folder)/train/cross/notes.txt"))
        let one = try makeTemporaryDirectory(self), two = try makeTemporaryDirectory(self)
        let result = try runCommand(productBinary, ["train", "--config", config, "--data-dir", folder, "--run-dir", one, "--threads", "1"])
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertTrue(result.output.contains("Training on 71 samples"), result.output)
        XCTAssertTrue(result.error.contains("warning: \(folder)/train: skipped 1 file(s) that are not .png, .jpg or .jpeg pictures"), result.error)
        XCTAssertTrue(result.error.contains("warning: \(folder)/train: skipped 1 picture(s) that cannot be decoded (skip_bad_files); the first: \(folder)/train/cross/002.png: corrupt PNG"), result.error)
        let parallel = try runUnderMPI(2, ["train", "--config", config, "--data-dir", folder, "--run-dir", two, "--threads", "1", "--quiet"])
        XCTAssertEqual(parallel.status, 0, parallel.error)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: one + "/model.safetensors")),
                       try Data(contentsOf: URL(fileURLWithPath: two + "/model.safetensors")))
    }
}
