import ConvNetData
import DataFormats
import Datasets
import Foundation
import TestSupport
import XCTest

/// `download --dataset cifar10`'s machinery on made archives served by a local HTTP mirror on
/// 127.0.0.1: the checksum is checked before unpacking, the members land flat in the folder and read
/// back, and a corrupt archive, a path leading out of the folder, a bomb and a missing member are refused.
final class CIFARDownloadTests: XCTestCase {
    private var server: Process!
    private var port = 0
    private var served: String!
    private var source: String!

    override func setUpWithError() throws {
        served = try makeTemporaryDirectory(self)
        source = try makeTemporaryDirectory(self)
        try CIFARWriter.writeSet(directory: source, training: CIFARWriter.pictures(count: 8), test: CIFARWriter.pictures(count: 3, seed: 1),
                                 perFile: [2, 1, 2, 1, 2])
        server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["python3", SharedData.packageRoot.appendingPathComponent("Tests/python/http_mirror.py").path, served]
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

    /// A .tar.gz named `name` in the served folder, of the source files under cifar-10-batches-bin/
    /// (less `leaving`) and `extra` members; returns the description that pins it.
    private func archive(_ name: String, leaving: String? = nil, extra: [String] = []) throws -> DatasetDescription {
        let files = try makeTemporaryDirectory(self)
        for file in try FileManager.default.contentsOfDirectory(atPath: source) where file != leaving {
            try FileManager.default.copyItem(atPath: source + "/" + file, toPath: files + "/" + file)
        }
        let path = served + "/" + name
        let made = try runCommand("/usr/bin/env", ["python3", SharedData.packageRoot.appendingPathComponent("Tests/python/make_tar_gz.py").path,
                                                   path, files, "cifar-10-batches-bin"] + extra)
        XCTAssertEqual(made.status, 0, made.error)
        let md5 = made.output.trimmingCharacters(in: .whitespacesAndNewlines)
        let size = try Self.size(path)
        let real = try XCTUnwrap(DatasetCatalog.cifar10.archive)
        let members = try real.members.map { member -> (name: String, size: Int?) in
            (member.name, member.size == nil ? nil : try Self.size(source + "/" + member.name))
        }
        return DatasetDescription(name: "cifar10", mirrors: [], format: "cifar10",
                                  archive: DatasetArchive(name: name, checksum: .md5(md5), size: size, folder: real.folder, members: members))
    }

    private static func size(_ path: String) throws -> Int {
        try XCTUnwrap((try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue)
    }

    private func download(_ description: DatasetDescription, _ modes: [String], into directory: String) throws -> [String] {
        var lines: [String] = []
        try Downloader(dataset: description, directory: directory, mirrors: modes.map { "http://127.0.0.1:\(port)/\($0)/" },
                       timeout: 20, log: { lines.append($0) }).run()
        return lines
    }

    private func assertRefused(_ description: DatasetDescription, _ modes: [String] = ["good"], contains text: String,
                               file: StaticString = #filePath, line: UInt = #line) throws {
        let directory = try makeTemporaryDirectory(self) + "/cifar10"
        XCTAssertThrowsError(try download(description, modes, into: directory), file: file, line: line) { error in
            XCTAssertTrue("\(error)".contains(text), "\(error)", file: file, line: line)
            XCTAssertFalse("\(error)".contains("\n"), "one line", file: file, line: line)
        }
        let left = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        XCTAssertEqual(left, [], "nothing is written from a refused archive", file: file, line: line)
    }

    func testDownloadsUnpacksFlatAndReadsBack() throws {
        let description = try archive("cifar-10-binary.tar.gz", extra: ["cifar-10-batches-bin/readme.html=batches.meta.txt"])
        let directory = try makeTemporaryDirectory(self) + "/cifar10"
        let lines = try download(description, ["drop", "good"], into: directory)
        XCTAssertTrue(lines.contains { $0.contains("downloaded from http://127.0.0.1:\(port)/good/ and verified") }, "\(lines)")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory).sorted(),
                       (CIFARFiles.trainingFiles + [CIFARFiles.metaFile, CIFARFiles.testFile]).sorted(), "flat, the readme left out")
        for name in CIFARFiles.trainingFiles + [CIFARFiles.testFile, CIFARFiles.metaFile] {
            XCTAssertEqual(FileManager.default.contents(atPath: directory + "/" + name), FileManager.default.contents(atPath: source + "/" + name), name)
        }
        let files = try DataFormat.files(format: "cifar10", directory: directory)
        XCTAssertTrue(files.isComplete)
        XCTAssertEqual(try files.loadTraining(shard: .whole, expectedShape: [32, 32, 3], classes: 10).pixels, CIFARWriter.pictures(count: 8).pixels)
        XCTAssertEqual(try files.classNames(), CIFARWriter.classNames)
        let again = try download(description, ["good"], into: directory)
        XCTAssertEqual(again, ["cifar10: all 7 files present at their sizes"])
    }

    func testCorruptArchiveIsRefusedBeforeUnpackingAndTheNextMirrorUsed() throws {
        let description = try archive("cifar-10-binary.tar.gz")
        try assertRefused(description, ["corrupt"], contains: "/corrupt/cifar-10-binary.tar.gz: checksum mismatch")
        let directory = try makeTemporaryDirectory(self)
        _ = try download(description, ["corrupt", "good"], into: directory)
        XCTAssertTrue(try DataFormat.files(format: "cifar10", directory: directory).isComplete)
    }

    func testHostileArchivesAreRefused() throws {
        try assertRefused(try archive("traversal.tar.gz", extra: ["cifar-10-batches-bin/../../evil.bin=test_batch.bin"]),
                          contains: "traversal.tar.gz: the member \"cifar-10-batches-bin/../../evil.bin\" leads outside the folder it unpacks into")
        try assertRefused(try archive("absolute.tar.gz", extra: ["/tmp/evil.bin=test_batch.bin"]), contains: "leads outside the folder")
        // Two mebibytes of zeros pack into a few kilobytes: more than the members and a mebibyte of headers.
        try assertRefused(try archive("bomb.tar.gz", extra: ["cifar-10-batches-bin/zeros=zeros:2100000"]),
                          contains: "bomb.tar.gz: unpacks to more than")
        try assertRefused(try archive("short.tar.gz", leaving: "test_batch.bin"),
                          contains: "short.tar.gz holds no cifar-10-batches-bin/test_batch.bin; it is not the expected archive")
        try assertRefused(try archive("twice.tar.gz", extra: ["cifar-10-batches-bin/test_batch.bin=data_batch_1.bin"]),
                          contains: "twice.tar.gz holds 2 cifar-10-batches-bin/test_batch.bin")
    }

    /// The command line knows cifar10; a made archive is not the real one (pinned size and MD5): refused, one line.
    func testCommandRefusesAnArchiveThatIsNotTheCanonicalOne() throws {
        _ = try archive("cifar-10-binary.tar.gz")
        let directory = try makeTemporaryDirectory(self) + "/cifar10"
        let result = try runCommand(productBinary, ["download", "--dataset", "cifar10", "--data-dir", directory, "--timeout", "20",
                                                    "--mirror", "http://127.0.0.1:\(port)/good/"], timeout: 120)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.error.contains("could not download cifar-10-binary.tar.gz for cifar10: "), result.error)
        XCTAssertEqual(result.error.split(separator: "\n").count, 1, result.error)
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [], [])
    }
}
