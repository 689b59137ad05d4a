// libFuzzer harness for the IDX reader (Sources/ConvNetData/IDX.swift, ByteReader.swift).
//
// The reader takes a path, so each input is written to a scratch file (one per process) and
// read back as images (magic 2051) and as labels (magic 2049), whole and as one shard of three.
// ByteReader detects gzip by its first two bytes, so a gzip input is read compressed as-is.
// A plain input is also gzip-compressed and read again: the compressed path must agree with the
// plain one (same success, same values). A thrown DataError is the expected answer to a bad
// file; a trap, an out-of-bounds access, a hang or a huge allocation is a bug.
//
// Built and run by tools/fuzz (swiftc -sanitize=fuzzer,address); seeds in Fuzz/corpus/idx.
import ConvNetData
import SystemZlib
import Foundation

private let directory = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
private let plainPath = "\(directory)/fuzz-idx-\(getpid()).idx"
private let gzipPath = "\(directory)/fuzz-idx-\(getpid()).idx.gz"

/// Everything the reader returned, or nil when it threw.
private func readAll(_ path: String) -> [[UInt8]?] {
    var results: [[UInt8]?] = []
    for shard in [Shard.whole, Shard(index: 1, count: 3)] {
        let images = try? IDX.readImages(path: path, shard: shard)
        if let images {
            precondition(images.pixels.count == images.keptCount * images.rows * images.columns, "pixel count")
        }
        results.append(images.map { [UInt8(truncatingIfNeeded: $0.rows), UInt8(truncatingIfNeeded: $0.columns)] + $0.pixels })
        let labels = try? IDX.readLabels(path: path, shard: shard)
        if let labels { precondition(labels.labels.count == shard.size(of: labels.totalCount), "label count") }
        results.append(labels?.labels)
    }
    return results
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = UnsafeBufferPointer(start: data, count: size)
    guard FileManager.default.createFile(atPath: plainPath, contents: Data(input)) else { fatalError("cannot write \(plainPath)") }
    let plain = readAll(plainPath)
    let isGzip = size >= 2 && data[0] == 0x1f && data[1] == 0x8b
    if !isGzip {
        // The same bytes, gzip-compressed (level 1), must read the same.
        guard let gz = gzopen(gzipPath, "wb1") else { fatalError("cannot write \(gzipPath)") }
        if size > 0 { precondition(gzwrite(gz, data, UInt32(size)) == Int32(size)) }
        gzclose(gz)
        let compressed = readAll(gzipPath)
        precondition(compressed == plain, "gzip-compressed input read differently from the plain one")
    }
    return 0
}
