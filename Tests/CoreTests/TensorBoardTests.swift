import ConvNetConfig
import Foundation
import SwiftProtobuf
import TensorBoard
import TestSupport
import XCTest

/// The events files TensorBoard reads: CRC-32C, TFRecord framing, the Event messages and the
/// writer's files, read back with `EventFile`.
final class TensorBoardTests: XCTestCase {
    /// RFC 3720 (iSCSI) appendix B.4 and the usual check value.
    func testCRC32CMatchesPublishedVectors() {
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)
        XCTAssertEqual(CRC32C.checksum((0..<32).map { UInt8($0) }), 0x46DD_794E)
        XCTAssertEqual(CRC32C.checksum((0..<32).map { UInt8(31 - $0) }), 0x113F_DB5C)
        XCTAssertEqual(CRC32C.checksum([UInt8]()), 0)
    }

    /// The bytes TensorBoard's own RecordWriter (tensorboard 2.21) writes for the record "hello".
    func testFramingMatchesTensorBoardsRecordWriter() {
        let expected: [UInt8] = [5, 0, 0, 0, 0, 0, 0, 0, 234, 178, 4, 62, 104, 101, 108, 108, 111, 187, 31, 28, 25]
        XCTAssertEqual(Array(TFRecord.frame(Data("hello".utf8))), expected)
    }

    /// protobuf's Python encoding of Event(wall_time 1.5, step 7, summary: loss = 0.25).
    func testEventEncodingMatchesTensorFlowsMessages() throws {
        var event = Tensorflow_Event()
        event.wallTime = 1.5
        event.step = 7
        var value = Tensorflow_Summary.Value()
        value.tag = "loss"
        value.simpleValue = 0.25
        event.summary.value = [value]
        let expected: [UInt8] = [9, 0, 0, 0, 0, 0, 0, 248, 63, 16, 7, 42, 13, 10, 11, 10, 4, 108, 111, 115, 115, 21, 0, 0, 128, 62]
        XCTAssertEqual(Array(try event.serializedData()), expected)
    }

    func testRecordsReadBackAndDamageIsFound() throws {
        let records = [Data("first".utf8), Data(), Data(repeating: 7, count: 300)]
        let bytes = records.reduce(into: Data()) { $0.append(TFRecord.frame($1)) }
        XCTAssertEqual(try TFRecord.records(in: bytes), records)
        func message(_ data: Data, tolerating: Bool = false) -> String {
            do { return "read \(try TFRecord.records(in: data, toleratingTruncatedEnd: tolerating).count)" } catch { return "\(error)" }
        }
        var flipped = bytes
        flipped[14] ^= 1
        XCTAssertEqual(message(flipped), "bad data checksum in the record at byte 0")
        var badLength = bytes
        badLength[0] ^= 1
        XCTAssertEqual(message(badLength), "bad length checksum at byte 0")
        let cut = bytes.prefix(bytes.count - 3)
        XCTAssertEqual(message(cut), "truncated record at byte 37")
        XCTAssertEqual(message(cut, tolerating: true), "read 2", "a record cut short at the end ends the file")
        XCTAssertEqual(message(bytes.prefix(21 + 5), tolerating: true), "read 1")
    }

    func testWriterFilesReadBackInOrder() throws {
        let directory = try makeTemporaryDirectory(self) + "/train"
        let first = try EventFileWriter(directory: directory)
        first.scalar("epoch_loss", 0.5, step: 0)
        first.scalar("batch_loss", 0.25, step: 100)
        let weights: [Float] = [-1, 0, 0.5, 2, .nan]
        weights.withUnsafeBufferPointer { first.histogram("dense_1/kernel/histogram", $0, step: 0) }
        XCTAssertEqual(try EventFile.events(atPath: first.path).count, 1, "values wait in memory until a flush")
        try first.flush()
        let second = try EventFileWriter(directory: directory)
        second.scalar("epoch_loss", 0.375, step: 1)
        try second.flush()

        let paths = EventFile.paths(in: directory)
        XCTAssertEqual(paths, [first.path, second.path], "a later writer's file sorts after the earlier ones")
        let name = (first.path as NSString).lastPathComponent
        XCTAssertTrue(name.hasPrefix("events.out.tfevents.") && name.hasSuffix(".\(ProcessInfo.processInfo.processIdentifier).v2"), name)
        let events = try EventFile.events(atPath: first.path)
        XCTAssertEqual(events.map(\.fileVersion), ["brain.Event:2", "", "", ""])
        XCTAssertEqual(events.dropFirst().map(\.step), [0, 100, 0])
        XCTAssertEqual(events.dropFirst().map { $0.summary.value.map(\.tag) }, [["epoch_loss"], ["batch_loss"], ["dense_1/kernel/histogram"]])
        XCTAssertEqual(events[1].summary.value[0].simpleValue, 0.5)
        XCTAssertEqual(events[2].summary.value[0].simpleValue, 0.25)
        XCTAssertGreaterThan(events[1].wallTime, 1e9)
        let histogram = events[3].summary.value[0].histo
        XCTAssertEqual([histogram.min, histogram.max, histogram.num, histogram.sum, histogram.sumSquares], [-1, 2, 4, 1.5, 5.25],
                       "the NaN is left out")
        XCTAssertEqual(histogram.bucket.count, 30)
        XCTAssertEqual(histogram.bucket.reduce(0, +), 4)
        XCTAssertEqual(histogram.bucketLimit.last, 2)
        XCTAssertEqual(histogram.bucket.first, 1, "-1 alone in the first bucket")
        XCTAssertEqual(histogram.bucket.last, 1, "2 in the last bucket")
        XCTAssertEqual(try EventFile.events(atPath: second.path).last?.summary.value.first?.simpleValue, 0.375)
    }

    func testRewriteKeepsTheChosenEvents() throws {
        let writer = try EventFileWriter(directory: try makeTemporaryDirectory(self))
        for step in 1...5 { writer.scalar("batch_loss", Double(step), step: step) }
        try writer.flush()
        try EventFile.rewrite(path: writer.path) { $0.step <= 3 }
        let events = try EventFile.events(atPath: writer.path)
        XCTAssertEqual(events.first?.fileVersion, "brain.Event:2")
        XCTAssertEqual(events.dropFirst().map(\.step), [1, 2, 3])
        writer.scalar("batch_loss", 4, step: 4)
        try writer.flush()
        XCTAssertEqual(try EventFile.events(atPath: writer.path).dropFirst().map(\.step), [1, 2, 3, 4], "appends after a rewrite")
    }

    /// `[logging] tensorboard` is read, written back only when on (the reference recipe's text is
    /// unchanged), and not part of the recipe's identity.
    func testLoggingKeyIsReadAndWrittenBack() throws {
        let model = "[model]\ninput_shape = [28, 28, 1]\nclasses = 10\nlayers = [{ type = \"flatten\" }, { type = \"dense\", units = 10, activation = \"softmax\" }]\n"
        let on = try ExperimentConfig.parse(toml: model + "[logging]\ntensorboard = true\n")
        XCTAssertTrue(on.tensorboard)
        XCTAssertTrue(try ExperimentConfig.parse(toml: on.tomlText).tensorboard)
        XCTAssertTrue(on.tomlText.hasSuffix("\n[logging]\ntensorboard = true\n"), on.tomlText)
        let off = try ExperimentConfig.parse(toml: model)
        XCTAssertFalse(off.tensorboard)
        XCTAssertFalse(off.tomlText.contains("logging"))
        XCTAssertEqual(on, off)
        XCTAssertFalse(ExperimentConfig.reference.tomlText.contains("logging"))
        func error(_ text: String) -> String {
            do { _ = try ExperimentConfig.parse(toml: text); return "accepted" } catch { return "\(error)" }
        }
        XCTAssertTrue(error(model + "[logging]\ntensorbord = true\n").contains("unknown key logging.tensorbord"))
        XCTAssertTrue(error(model + "[logging]\ntensorboard = 1\n").contains("logging.tensorboard"))
    }

    /// A full disk at a flush: a clear error naming the file, as a full disk under `steps.csv` gives.
    func testAFullDiskIsAnErrorNotACrash() throws {
        let writer = try EventFileWriter(directory: try makeTemporaryDirectory(self))
        try FileManager.default.removeItem(atPath: writer.path)
        try FileManager.default.createSymbolicLink(atPath: writer.path, withDestinationPath: "/dev/full")
        writer.scalar("batch_loss", 1, step: 1)
        XCTAssertThrowsError(try writer.flush()) { error in
            XCTAssertTrue("\(error)".contains("cannot append to \(writer.path)"), "\(error)")
            XCTAssertTrue("\(error)".lowercased().contains("space"), "\(error)")
        }
    }
}
