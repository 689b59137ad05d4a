import ConvNetData
import Foundation
import TestSupport
import XCTest

/// The IDX reader on small files made here, plain and gzip-compressed, good and malformed.
final class IDXTests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws { directory = try makeTemporaryDirectory(self) }

    private func idx(magic: UInt32, dimensions: [UInt32], payload: [UInt8]) -> [UInt8] {
        IDXWriter.bytes(magic: magic, dimensions: dimensions, payload: payload)
    }

    @discardableResult
    private func write(_ name: String, _ bytes: [UInt8], gzip: Bool = false) throws -> String {
        let path = directory + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        guard gzip else { return path }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-f", path]
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        return path + ".gz"
    }

    /// A set of `count` images of `rows x columns` where image `i` is filled with byte `i`, labels `i % 10`.
    private func writeSet(prefix: String, count: Int, rows: Int = 4, columns: Int = 3, gzip: Bool,
                          labelCount: Int? = nil, labelOverride: [Int: UInt8] = [:]) throws {
        let pixels = (0..<count).flatMap { [UInt8](repeating: UInt8(truncatingIfNeeded: $0), count: rows * columns) }
        try write("\(prefix)-images-idx3-ubyte",
                  idx(magic: 2051, dimensions: [UInt32(count), UInt32(rows), UInt32(columns)], payload: pixels), gzip: gzip)
        let n = labelCount ?? count
        let labels = (0..<n).map { labelOverride[$0] ?? UInt8($0 % 10) }
        try write("\(prefix)-labels-idx1-ubyte", idx(magic: 2049, dimensions: [UInt32(n)], payload: labels), gzip: gzip)
    }

    private func loadTrain(shape: [Int] = [4, 3, 1], shard: Shard = .whole) throws -> LabelledImages {
        try IDXFiles(directory: directory).loadTraining(shard: shard, expectedShape: shape, classes: 10)
    }

    private func message(_ body: () throws -> Any) -> String {
        do {
            _ = try body()
            return "no error"
        } catch { return "\(error)" }
    }

    func testReadsGzipAndPlainFiles() throws {
        for gzip in [true, false] {
            directory = try makeTemporaryDirectory(self)
            try writeSet(prefix: "train", count: 7, gzip: gzip)
            let set = try loadTrain()
            XCTAssertEqual(set.count, 7)
            XCTAssertEqual(set.labels, [0, 1, 2, 3, 4, 5, 6])
            var pixels = [Float](repeating: 0, count: 12)
            XCTAssertEqual(set.write(sample: 5, to: &pixels), 5)
            XCTAssertEqual(pixels, [Float](repeating: 5 / 255, count: 12))
        }
    }

    func testShardsAreDisjointNearEqualAndCoverTheFile() throws {
        try writeSet(prefix: "train", count: 11, gzip: true)
        var seen: [UInt8] = []
        for index in 0..<3 {
            let set = try loadTrain(shard: Shard(index: index, count: 3))
            XCTAssertEqual(set.count, index < 2 ? 4 : 3)
            XCTAssertEqual(set.pixels.count, set.count * 12)
            for i in 0..<set.count { XCTAssertEqual(set.pixels[i * 12], UInt8(i * 3 + index)) }
            seen += (0..<set.count).map { set.pixels[$0 * 12] }
        }
        XCTAssertEqual(seen.sorted(), (0..<11).map(UInt8.init))
    }

    func testBadMagic() throws {
        try write("train-images-idx3-ubyte", idx(magic: 2049, dimensions: [1, 4, 3], payload: [UInt8](repeating: 0, count: 12)))
        try write("train-labels-idx1-ubyte", idx(magic: 2049, dimensions: [1], payload: [0]))
        XCTAssertTrue(message { try self.loadTrain() }.contains("train-images-idx3-ubyte: bad magic number 2049, expected 2051"))
    }

    func testTruncatedPlainAndGzip() throws {
        for gzip in [false, true] {
            directory = try makeTemporaryDirectory(self)
            try write("train-images-idx3-ubyte", idx(magic: 2051, dimensions: [3, 4, 3], payload: [UInt8](repeating: 1, count: 30)), gzip: gzip)
            try write("train-labels-idx1-ubyte", idx(magic: 2049, dimensions: [3], payload: [0, 1, 2]), gzip: gzip)
            let text = message { try self.loadTrain() }
            XCTAssertTrue(text.contains("truncated: header promises 36 bytes of pixel data, found 30"), text)
        }
    }

    func testTruncatedGzipStream() throws {
        try writeSet(prefix: "train", count: 2000, gzip: true)
        let path = directory + "/train-images-idx3-ubyte.gz"
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: path))
        let text = message { try self.loadTrain() }
        XCTAssertTrue(text.contains("train-images-idx3-ubyte.gz: truncated"), text)
    }

    func testTruncatedHeader() throws {
        try write("train-images-idx3-ubyte", [0, 0, 8, 3, 0, 0])
        try write("train-labels-idx1-ubyte", idx(magic: 2049, dimensions: [1], payload: [0]))
        XCTAssertTrue(message { try self.loadTrain() }.contains("truncated: expected 16 bytes of IDX header, found 6"))
    }

    func testTrailingBytes() throws {
        try write("train-images-idx3-ubyte", idx(magic: 2051, dimensions: [1, 4, 3], payload: [UInt8](repeating: 0, count: 13)))
        try write("train-labels-idx1-ubyte", idx(magic: 2049, dimensions: [1], payload: [0]))
        XCTAssertTrue(message { try self.loadTrain() }.contains("unexpected bytes after the 1 items"))
    }

    func testCountMismatch() throws {
        try writeSet(prefix: "train", count: 5, gzip: true, labelCount: 4)
        XCTAssertTrue(message { try self.loadTrain() }.contains("count mismatch"))
        XCTAssertTrue(message { try self.loadTrain() }.contains("holds 5 images but"))
    }

    func testLabelOutOfRange() throws {
        try writeSet(prefix: "train", count: 5, gzip: false, labelOverride: [3: 12])
        XCTAssertTrue(message { try self.loadTrain() }.contains("label 12 at index 3 is out of range for 10 classes"))
    }

    func testDimensionsMismatch() throws {
        try writeSet(prefix: "train", count: 5, gzip: false)
        XCTAssertTrue(message { try self.loadTrain(shape: [28, 28, 1]) }
            .contains("dimensions mismatch: \(directory!)/train-images-idx3-ubyte holds 4x3 images but the model expects 28x28x1"))
    }

    func testMissingFileSaysHowToFixIt() {
        let text = message { try self.loadTrain() }
        XCTAssertTrue(text.contains("train-images-idx3-ubyte.gz not found"), text)
        XCTAssertTrue(text.contains("--data-dir"), text)
    }

    // Hostile headers: refused from the header and the file's size, before anything large is allocated.

    func testAbsurdImageSideIsRefused() throws {
        // One 65535x65535 image claimed by a small gzip file (it would take 4 GB).
        try write("train-images-idx3-ubyte", idx(magic: 2051, dimensions: [1, 65535, 65535], payload: [UInt8](repeating: 0, count: 150_000)), gzip: true)
        try write("train-labels-idx1-ubyte", idx(magic: 2049, dimensions: [1], payload: [0]))
        let text = message { try IDX.readImages(path: self.directory + "/train-images-idx3-ubyte.gz") }
        XCTAssertTrue(text.contains("header claims 65535x65535 images; the limit is 16384 per side"), text)
    }

    func testAbsurdCountIsRefusedBeforeAllocating() throws {
        let huge: UInt32 = 0xFFFF_FFFF
        try write("train-images-idx3-ubyte", idx(magic: 2051, dimensions: [huge, 4, 3], payload: [UInt8](repeating: 0, count: 24)))
        XCTAssertTrue(message { try IDX.readImages(path: self.directory + "/train-images-idx3-ubyte") }
            .contains("truncated: header promises 51539607540 bytes of pixel data, found 24"))
        try write("labels", idx(magic: 2049, dimensions: [huge], payload: [UInt8](repeating: 0, count: 100_000)), gzip: true)
        let text = message { try IDX.readLabels(path: self.directory + "/labels.gz") }
        XCTAssertTrue(text.contains("header claims 4294967295 items of 1 bytes of label data, more than a gzip file of its size can hold"), text)
    }

    func testImageSizeOtherThanTheModelsIsRefusedFromTheHeader() throws {
        try writeSet(prefix: "train", count: 3, rows: 5, columns: 5, gzip: false)
        XCTAssertTrue(message { try self.loadTrain() }.contains("holds 5x5 images but the model expects 4x3x1"))
    }

    func testAFIFOIsNotReadForever() throws {
        let path = directory + "/train-images-idx3-ubyte"
        XCTAssertEqual(mkfifo(path, 0o644), 0)
        try writeSet(prefix: "ignored", count: 1, gzip: false)
        XCTAssertTrue(message { try IDX.readImages(path: path) }.contains("not a regular file"))
    }

    /// Found by tools/fuzz idx: zero images of 16384x16384 allocated a 256 MiB read buffer.
    func testNoImagesOfTheLargestSizeAllocateNothingLarge() throws {
        try write("empty-images", idx(magic: 2051, dimensions: [0, 16384, 16384], payload: []))
        let before = SystemMemory.residentBytes()
        let images = try IDX.readImages(path: directory + "/empty-images")
        XCTAssertEqual(images.totalCount, 0)
        XCTAssertLessThan(SystemMemory.residentBytes() - before, 64 << 20)
    }
}

/// The process's resident memory, from /proc/self/statm.
enum SystemMemory {
    static func residentBytes() -> Int {
        let fields = ((try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8)) ?? "").split(separator: " ")
        return (fields.count > 1 ? Int(fields[1]) ?? 0 : 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
