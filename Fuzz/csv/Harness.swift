// libFuzzer harness for the `csv` data format (Sources/DataFormats/KaggleCSVFiles.swift on CSV.swift).
//
// Each input is written as train.csv and test.csv of a scratch folder and read as a data set of
// 2x2 grey images (a header of label + 4 pixel columns), whole and as one shard of three. A thrown
// DataError is the expected answer to a bad file; a trap, an out-of-bounds access, a hang or a
// huge allocation is a bug. The shards must agree with the whole.
//
// Built and run by tools/fuzz (swiftc -sanitize=fuzzer,address); seeds in Fuzz/corpus/csv.
import ConvNetData
import DataFormats
import Foundation

private let directory = (ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp") + "/fuzz-csv-\(getpid())"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let input = Data(UnsafeBufferPointer(start: data, count: size))
    for name in ["train.csv", "test.csv"] {
        guard FileManager.default.createFile(atPath: directory + "/" + name, contents: input) else { fatalError("cannot write \(name)") }
    }
    let files = KaggleCSVFiles(directory: directory)
    guard let whole = try? files.loadTraining(shard: .whole, expectedShape: [2, 2, 1], classes: 10) else { return 0 }
    precondition(whole.pixels.count == whole.count * 4 && whole.count == whole.totalCount, "sizes")
    let shard = Shard(index: 1, count: 3)
    let part = try! files.loadTraining(shard: shard, expectedShape: [2, 2, 1], classes: 10)
    let expected = stride(from: 1, to: whole.count, by: 3).map { whole.labels[$0] }
    precondition(part.labels == expected && part.totalCount == whole.totalCount, "the shard disagrees with the whole")
    _ = try? files.loadTest(shard: .whole, expectedShape: [2, 2, 1], classes: 10)
    return 0
}
