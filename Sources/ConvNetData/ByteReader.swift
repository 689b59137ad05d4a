import SystemZlib
import Foundation

/// A FIFO or a device would block or never end: only regular files are data files.
public enum RegularFile {
    /// The size of the regular file at `path`; an error for anything else.
    @discardableResult
    public static func check(_ path: String) throws -> Int {
        let attributes: [FileAttributeKey: Any]
        do { attributes = try FileManager.default.attributesOfItem(atPath: path) } catch {
            throw DataError("\(path): cannot open file")
        }
        guard attributes[.type] as? FileAttributeType == .typeRegular else {
            throw DataError("\(path): not a regular file")
        }
        return (attributes[.size] as? NSNumber)?.intValue ?? 0
    }
}

/// Reads a file that may be gzip-compressed or plain, transparently (zlib's gz* functions pass
/// uncompressed files through), in caller-sized pieces, so a caller that keeps only part of a file
/// never holds all of it.
final class ByteReader {
    let path: String
    private let file: gzFile

    /// The most bytes the file can hold once decompressed, from its size alone: its size when plain,
    /// 1032 times it for gzip (deflate's largest ratio). A header that claims more is refused before
    /// anything is allocated.
    let maximumBytes: Int
    let isCompressed: Bool

    init(path: String) throws {
        self.path = path
        let size = try RegularFile.check(path)
        let handle = FileHandle(forReadingAtPath: path)
        let head = (try? handle?.read(upToCount: 2)) ?? nil
        isCompressed = head.map { $0.count == 2 && $0[$0.startIndex] == 0x1f && $0[$0.startIndex + 1] == 0x8b } ?? false
        maximumBytes = isCompressed ? (size.multipliedReportingOverflow(by: 1032).overflow ? Int.max : size * 1032) : size
        try? handle?.close()
        guard let file = gzopen(path, "rb") else { throw DataError("\(path): cannot open file") }
        gzbuffer(file, 1 << 18)
        self.file = file
    }

    deinit { gzclose(file) }

    /// Fills `buffer` completely and returns how many bytes were read; fewer means the data ended.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var total = 0
        while total < buffer.count {
            let chunk = UInt32(min(buffer.count - total, 1 << 30))
            let n = gzread(file, buffer.baseAddress! + total, chunk)
            if n < 0 { throw DataError("\(path): \(errorMessage())") }
            if n == 0 {
                // A gzip stream cut short reports end-of-file with a pending error.
                var code: Int32 = 0
                let message = gzerror(file, &code)
                if code != Z_OK && code != Z_STREAM_END, let message {
                    throw DataError("\(path): truncated or corrupt gzip data (\(String(cString: message)))")
                }
                break
            }
            total += Int(n)
        }
        return total
    }

    /// Reads exactly `count` bytes or throws, naming what was being read.
    func readExactly(_ count: Int, what: String) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let got = try bytes.withUnsafeMutableBytes { try read(into: $0) }
        guard got == count else {
            throw DataError("\(path): truncated: expected \(count) bytes of \(what), found \(got)")
        }
        return bytes
    }

    /// True when no byte is left.
    func atEnd() throws -> Bool {
        var probe: UInt8 = 0
        return try withUnsafeMutableBytes(of: &probe) { try read(into: $0) } == 0
    }

    private func errorMessage() -> String {
        var code: Int32 = 0
        guard let message = gzerror(file, &code) else { return "read error" }
        return String(cString: message)
    }
}
