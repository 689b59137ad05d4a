// libFuzzer harness for `plot`'s readers (Sources/Plots: RunFolderPlots on metrics.csv and
// confusion.csv, then the charts drawn from what they read).
//
// The input is split at its first NUL byte: the part before is written as metrics.csv, the part
// after as confusion.csv (without a NUL, both files get the whole input), in a scratch run folder
// that `RunFolderPlots.redraw` then draws. A PlotError is the expected answer to a bad file; a trap
// (an overflow on a huge count or epoch), an out-of-bounds access, a hang or a huge allocation is
// a bug. A matrix that was read must be square, within the class limit, and survive the round trip
// through confusionCSV.
//
// Built and run by tools/fuzz (swiftc -sanitize=fuzzer,address); seeds in Fuzz/corpus/plot.
import Foundation
import Plots

private let directory = (ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp") + "/fuzz-plot-\(getpid())"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let input = Data(UnsafeBufferPointer(start: data, count: size))
    let cut = input.firstIndex(of: 0)
    let metrics = cut.map { input[..<$0] } ?? input
    let confusion = cut.map { input[($0 + 1)...] } ?? input
    for (name, contents) in [("metrics.csv", metrics), ("confusion.csv", confusion)] {
        guard FileManager.default.createFile(atPath: directory + "/" + name, contents: Data(contents)) else { fatalError("cannot write \(name)") }
    }
    _ = try? RunFolderPlots.redraw(runDirectory: directory)
    if let text = String(data: Data(confusion), encoding: .utf8),
       let matrix = try? RunFolderPlots.confusionMatrix(csv: text, path: "confusion.csv") {
        precondition(!matrix.isEmpty && matrix.count <= RunFolderPlots.maximumClasses && matrix.allSatisfy { $0.count == matrix.count },
                     "a matrix read is square and within the class limit")
        let again = try! RunFolderPlots.confusionMatrix(csv: RunFolderPlots.confusionCSV(matrix), path: "again")
        precondition(again == matrix, "confusionCSV round trip")
    }
    if let text = String(data: Data(metrics), encoding: .utf8),
       let points = try? RunFolderPlots.curvePoints(csv: text, path: "metrics.csv") {
        precondition(zip(points, points.dropFirst()).allSatisfy { $0.epoch < $1.epoch }, "one point per epoch, in order")
    }
    return 0
}
