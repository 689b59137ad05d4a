import Foundation
import TestSupport
import XCTest

/// `convnet-dist download` against a local HTTP mirror of the real MNIST files on 127.0.0.1,
/// including a corrupted file and a server that drops the connection.
final class DownloadTests: XCTestCase {
    private var server: Process!
    private var port = 0
    private var source: String!

    override func setUpWithError() throws {
        source = try SharedData.mnistDirectory()
        server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["python3", SharedData.packageRoot.appendingPathComponent("Tests/python/http_mirror.py").path, source]
        let output = Pipe()
        server.standardOutput = output
        try server.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        port = try XCTUnwrap(Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    override func tearDown() {
        server.terminate()
        server.waitUntilExit()
    }

    private func mirror(_ mode: String) -> String { "http://127.0.0.1:\(port)/\(mode)/" }

    private func download(into directory: String, mirrors: [String]) throws -> CommandResult {
        try runCommand(productBinary, ["download", "--data-dir", directory, "--timeout", "20"] + mirrors.flatMap { ["--mirror", $0] },
                       timeout: 120)
    }

    private func assertSameFiles(_ directory: String, file: StaticString = #filePath, line: UInt = #line) {
        for name in ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"] {
            XCTAssertEqual(FileManager.default.contents(atPath: directory + "/" + name),
                           FileManager.default.contents(atPath: source + "/" + name), name, file: file, line: line)
        }
    }

    func testDownloadsVerifiesAndSkipsValidFiles() throws {
        let directory = try makeTemporaryDirectory(self) + "/mnist"
        let first = try download(into: directory, mirrors: [mirror("good")])
        XCTAssertEqual(first.status, 0, first.error)
        XCTAssertEqual(first.output.components(separatedBy: "downloaded from").count - 1, 4, first.output)
        assertSameFiles(directory)
        let second = try download(into: directory, mirrors: [mirror("good")])
        XCTAssertEqual(second.status, 0, second.error)
        XCTAssertEqual(second.output.components(separatedBy: "present and verified").count - 1, 4, second.output)
    }

    func testCorruptedFileIsRejectedAndTheNextMirrorUsed() throws {
        let directory = try makeTemporaryDirectory(self)
        let onlyCorrupt = try download(into: directory, mirrors: [mirror("corrupt")])
        XCTAssertNotEqual(onlyCorrupt.status, 0)
        XCTAssertTrue(onlyCorrupt.error.contains("checksum mismatch"), onlyCorrupt.error)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/train-images-idx3-ubyte.gz"), "no corrupt file is kept")
        let fallback = try download(into: directory, mirrors: [mirror("corrupt"), mirror("good")])
        XCTAssertEqual(fallback.status, 0, fallback.error)
        assertSameFiles(directory)
    }

    func testDroppedConnectionIsAnErrorAndTheNextMirrorUsed() throws {
        let directory = try makeTemporaryDirectory(self)
        let onlyDrop = try download(into: directory, mirrors: [mirror("drop")])
        XCTAssertNotEqual(onlyDrop.status, 0)
        XCTAssertTrue(onlyDrop.error.contains("could not download train-images-idx3-ubyte.gz"), onlyDrop.error)
        XCTAssertEqual(onlyDrop.error.split(separator: "\n").count, 1, "one line")
        let fallback = try download(into: directory, mirrors: [mirror("drop"), mirror("good")])
        XCTAssertEqual(fallback.status, 0, fallback.error)
        assertSameFiles(directory)
    }

    func testDamagedLocalFileIsReplaced() throws {
        let directory = try makeTemporaryDirectory(self)
        XCTAssertEqual(try download(into: directory, mirrors: [mirror("good")]).status, 0)
        try Data("not mnist".utf8).write(to: URL(fileURLWithPath: directory + "/t10k-labels-idx1-ubyte.gz"))
        let repaired = try download(into: directory, mirrors: [mirror("good")])
        XCTAssertEqual(repaired.status, 0, repaired.error)
        XCTAssertTrue(repaired.output.contains("t10k-labels-idx1-ubyte.gz: downloaded"), repaired.output)
        assertSameFiles(directory)
    }

    // Hostile servers: each ends within its bound with a plain-language reason.

    func testAnEndlessBodyIsCutOffAtTheFilesSize() throws {
        let started = Date()
        let result = try download(into: try makeTemporaryDirectory(self), mirrors: [mirror("endless")])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.error.contains("the server sent more than the file's 9912422 bytes"), result.error)
        XCTAssertLessThan(Date().timeIntervalSince(started), 30)
        // The endless transfer must not hold up the next mirror either.
        let directory = try makeTemporaryDirectory(self)
        let fallback = try download(into: directory, mirrors: [mirror("endless"), mirror("good")])
        XCTAssertEqual(fallback.status, 0, fallback.error)
        assertSameFiles(directory)
        XCTAssertLessThan(Date().timeIntervalSince(started), 30)
    }

    func testATricklingServerMeetsTheDeadline() throws {
        let started = Date()
        let result = try runCommand(productBinary, ["download", "--data-dir", try makeTemporaryDirectory(self), "--timeout", "2",
                                                    "--mirror", mirror("trickle")], timeout: 60)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.error.contains("no complete answer within 20 s"), result.error)
        XCTAssertLessThan(Date().timeIntervalSince(started), 30)
    }

    func testASilentServerTimesOutInPlainWords() throws {
        let result = try runCommand(productBinary, ["download", "--data-dir", try makeTemporaryDirectory(self), "--timeout", "1",
                                                    "--mirror", mirror("silent")], timeout: 60)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.error.contains("no answer within 1 s") || result.error.contains("no complete answer within 10 s"), result.error)
        XCTAssertFalse(result.error.contains("NSURLErrorDomain"), result.error)
    }

    func testAnInfiniteTimeoutIsRefused() throws {
        let result = try runCommand(productBinary, ["download", "--data-dir", try makeTemporaryDirectory(self), "--timeout", "inf"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertFalse(result.crashed, result.error)
        XCTAssertTrue(result.error.contains("--timeout must be a number of seconds in (0, 3600]"), result.error)
    }
}
