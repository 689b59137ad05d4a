import ConvNetConfig
import ConvNetData
import DataFormats
import Foundation
import TestSupport
import XCTest

/// The `cifar10` reader: planes become NHWC, the five batches are one training set in order, each
/// shard holds its samples, and every malformed folder is refused with one line naming the file.
final class CIFARTests: XCTestCase {
    private let shape = [32, 32, 3]

    /// 13 training pictures over the five files (uneven, so shards cross file boundaries) and 4 test pictures.
    private func made() throws -> (directory: String, training: (pixels: [UInt8], labels: [UInt8]), test: (pixels: [UInt8], labels: [UInt8])) {
        let directory = try makeTemporaryDirectory(self)
        let training = CIFARWriter.pictures(count: 13), test = CIFARWriter.pictures(count: 4, seed: 5)
        try CIFARWriter.writeSet(directory: directory, training: training, test: test, perFile: [3, 1, 4, 2, 3])
        return (directory, training, test)
    }

    private func files(_ directory: String) throws -> any DataSetFiles { try DataFormat.files(format: "cifar10", directory: directory) }

    private func assertError(_ directory: String, test: Bool = false, contains text: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try test ? files(directory).loadTest(shard: .whole, expectedShape: shape, classes: 10)
                                      : files(directory).loadTraining(shard: .whole, expectedShape: shape, classes: 10),
                             file: file, line: line) { error in
            XCTAssertTrue("\(error)".contains(text), "\(error)", file: file, line: line)
            XCTAssertFalse("\(error)".contains("\n"), "one line: \(error)", file: file, line: line)
        }
    }

    /// A record written byte by byte (not by the test writer): byte `1 + c * 1024 + y * 32 + x` is pixel (y, x) of channel c.
    func testPlanesBecomeNHWC() throws {
        let directory = try makeTemporaryDirectory(self)
        var record: [UInt8] = [7]
        for c in 0..<3 { for y in 0..<32 { for x in 0..<32 { record.append(UInt8((c * 80 + y * 5 + x * 3) % 256)) } } }
        for name in CIFARFiles.trainingFiles + [CIFARFiles.testFile] { try Data(record).write(to: URL(fileURLWithPath: directory + "/" + name)) }
        let set = try files(directory).loadTraining(shard: .whole, expectedShape: shape, classes: 10)
        XCTAssertEqual(set.count, 5)
        XCTAssertEqual(set.labels, [7, 7, 7, 7, 7])
        XCTAssertEqual([set.height, set.width, set.channels], shape)
        for (y, x, c) in [(0, 0, 0), (0, 0, 1), (0, 0, 2), (3, 17, 1), (31, 31, 2), (12, 0, 0)] {
            XCTAssertEqual(set.pixels[(y * 32 + x) * 3 + c], UInt8((c * 80 + y * 5 + x * 3) % 256), "(\(y), \(x), \(c))")
        }
        var floats = [Float](repeating: 0, count: 3072)
        _ = set.write(sample: 0, to: &floats)
        XCTAssertEqual(floats[(3 * 32 + 17) * 3 + 1], Float((80 + 15 + 51) % 256) / 255, "batches scale by x / 255")
    }

    func testTheFiveBatchesAreOneTrainingSetAndEachShardKeepsItsSamples() throws {
        let (directory, training, test) = try made()
        let whole = try files(directory).loadTraining(shard: .whole, expectedShape: shape, classes: 10)
        XCTAssertEqual(whole.pixels, training.pixels)
        XCTAssertEqual(whole.labels, training.labels)
        XCTAssertEqual(try files(directory).loadTest(shard: .whole, expectedShape: shape, classes: 10).pixels, test.pixels)
        for count in 2...4 {
            for index in 0..<count {
                let shard = Shard(index: index, count: count)
                let part = try files(directory).loadTraining(shard: shard, expectedShape: shape, classes: 10)
                let samples = Array(stride(from: index, to: 13, by: count))
                XCTAssertEqual(part.labels, samples.map { training.labels[$0] })
                XCTAssertEqual(part.pixels, samples.flatMap { training.pixels[($0 * 3072)..<(($0 + 1) * 3072)] })
                XCTAssertEqual(part.totalCount, 13)
                XCTAssertEqual(part.shard, shard)
            }
        }
        XCTAssertEqual(try files(directory).classNames(), CIFARWriter.classNames)
        XCTAssertTrue(try files(directory).isComplete)
    }

    /// The archive unpacks into cifar-10-batches-bin/: a data folder holding only that folder is read through it.
    func testTheArchivesFolderInsideTheDataFolderIsRead() throws {
        let (directory, training, _) = try made()
        let parent = try makeTemporaryDirectory(self)
        try FileManager.default.moveItem(atPath: directory, toPath: parent + "/cifar-10-batches-bin")
        XCTAssertEqual(try files(parent).loadTraining(shard: .whole, expectedShape: shape, classes: 10).pixels, training.pixels)
        XCTAssertEqual(try files(parent).classNames(), CIFARWriter.classNames)
    }

    func testMalformedFoldersAreRefusedNamingTheFile() throws {
        var (directory, _, _) = try made()
        try FileManager.default.removeItem(atPath: directory + "/data_batch_4.bin")
        assertError(directory, contains: "data file \(directory)/data_batch_4.bin not found")
        XCTAssertFalse(try files(directory).isComplete)

        (directory, _, _) = try made()
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: directory + "/data_batch_2.bin"))
        try handle.seekToEnd(); try handle.write(contentsOf: Data([1, 2, 3])); try handle.close()
        assertError(directory, contains: "data_batch_2.bin: 3076 bytes is not a whole number of 3073-byte CIFAR-10 records")

        (directory, _, _) = try made()
        try Data().write(to: URL(fileURLWithPath: directory + "/test_batch.bin"))
        assertError(directory, test: true, contains: "test_batch.bin: 0 bytes is not a whole number")

        (directory, _, _) = try made()
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory + "/data_batch_3.bin")))
        bytes[2 * 3073] = 10
        try Data(bytes).write(to: URL(fileURLWithPath: directory + "/data_batch_3.bin"))
        assertError(directory, contains: "data_batch_3.bin: label 10 of record 2 is not a CIFAR-10 class (0-9)")
        // Every rank checks every label, so a shard that does not hold the bad record refuses the file too.
        XCTAssertThrowsError(try files(directory).loadTraining(shard: Shard(index: 0, count: 2), expectedShape: shape, classes: 10))
        XCTAssertThrowsError(try files(directory).loadTraining(shard: Shard(index: 1, count: 2), expectedShape: shape, classes: 10))

        (directory, _, _) = try made()
        try FileManager.default.removeItem(atPath: directory + "/data_batch_5.bin")
        try FileManager.default.createDirectory(atPath: directory + "/data_batch_5.bin", withIntermediateDirectories: false)
        assertError(directory, contains: "data_batch_5.bin: not a regular file")
        try FileManager.default.removeItem(atPath: directory + "/data_batch_5.bin")
        XCTAssertEqual(mkfifo(directory + "/data_batch_5.bin", 0o600), 0)
        assertError(directory, contains: "data_batch_5.bin: not a regular file")

        (directory, _, _) = try made()
        XCTAssertThrowsError(try files(directory).loadTraining(shard: .whole, expectedShape: [28, 28, 1], classes: 10)) { error in
            XCTAssertTrue("\(error)".contains("dimensions mismatch: \(directory) holds CIFAR-10's 32x32x3 images but the model expects 28x28x1"), "\(error)")
        }
        XCTAssertThrowsError(try files(directory).loadTraining(shard: .whole, expectedShape: shape, classes: 5)) { error in
            XCTAssertTrue("\(error)".contains("is out of range for 5 classes"), "\(error)")
        }
        try Data("cat\ndog\n".utf8).write(to: URL(fileURLWithPath: directory + "/batches.meta.txt"))
        XCTAssertThrowsError(try files(directory).classNames()) { error in
            XCTAssertTrue("\(error)".contains("batches.meta.txt names 2 classes, CIFAR-10 has 10"), "\(error)")
        }
        try FileManager.default.removeItem(atPath: directory + "/batches.meta.txt")
        XCTAssertNil(try files(directory).classNames())
    }

    func testDatasetCIFAR10SelectsItsFormat() throws {
        let config = try ExperimentConfig.parse(toml: ExperimentConfig.reference.tomlText.replacingOccurrences(of: "dataset = \"mnist\"", with: "dataset = \"cifar10\""))
        XCTAssertEqual(config.dataFormat, "cifar10")
        let explicit = try ExperimentConfig.parse(toml: config.tomlText)
        XCTAssertEqual(explicit, config, "a written config reads back")
    }
}
