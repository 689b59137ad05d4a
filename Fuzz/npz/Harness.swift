// libFuzzer harness for the `npz` data format (Sources/DataFormats/NPZFiles.swift and NPY.swift on
// ZIPFoundation).
//
// An input that starts with "PK" is the whole .npz file; any other input is a .npy array, stored
// as x_train.npy in a fresh archive beside a valid y_train of 3 labels, so the fuzzer reaches the
// .npy header parser without having to build ZIP structures. The folder is read as a data set of
// 2x2 grey images, whole and as one shard of two. A thrown DataError is the expected answer to a
// bad file; a trap, an out-of-bounds access, a hang or a huge allocation is a bug.
//
// Built and run by tools/fuzz (swiftc -sanitize=fuzzer,address); seeds in Fuzz/corpus/npz.
import ConvNetData
import DataFormats
import Foundation
import ZIPFoundation

private let directory = (ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp") + "/fuzz-npz-\(getpid())"
private let path = directory + "/mnist.npz"
/// A valid y_train.npy holding labels 0, 1, 2 (version 1.0: magic, version, header length, header padded to 64 bytes).
private let labels: Data = {
    var header = "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }"
    while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
    header += "\n"
    return Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count), 0] + Array(header.utf8) + [0, 1, 2])
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let input = Data(UnsafeBufferPointer(start: data, count: size))
    try? FileManager.default.removeItem(atPath: path)
    if input.starts(with: Array("PK".utf8)) {
        guard FileManager.default.createFile(atPath: path, contents: input) else { fatalError("cannot write \(path)") }
    } else {
        let archive = try! Archive(url: URL(fileURLWithPath: path), accessMode: .create)
        for (name, contents) in [("x_train.npy", input), ("y_train.npy", labels)] {
            try! archive.addEntry(with: name, type: .file, uncompressedSize: Int64(contents.count)) { position, length in
                contents.subdata(in: Int(position)..<(Int(position) + length))
            }
        }
    }
    let files = NPZFiles(directory: directory)
    guard let whole = try? files.loadTraining(shard: .whole, expectedShape: [2, 2, 1], classes: 10) else { return 0 }
    precondition(whole.pixels.count == whole.count * 4 && whole.count == whole.totalCount, "sizes")
    let part = try! files.loadTraining(shard: Shard(index: 1, count: 2), expectedShape: [2, 2, 1], classes: 10)
    precondition(part.labels == stride(from: 1, to: whole.count, by: 2).map { whole.labels[$0] }, "the shard disagrees with the whole")
    return 0
}
