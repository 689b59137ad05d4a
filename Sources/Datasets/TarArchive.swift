import ConvNetData
import Foundation

/// The members of a tar archive held in memory, as GNU tar and Python's tarfile write them (ustar
/// headers, GNU long names, pax `path` records). Nothing is written from here: the caller picks the
/// members it expects by name. Every header's checksum and every size is checked against the data,
/// and a name that leads outside the folder it unpacks into (absolute, or with a `..` component)
/// refuses the whole archive, whatever member it names.
enum TarArchive {
    struct Member {
        let name: String
        /// `0` (or NUL) for a regular file, `5` for a folder, ...
        let type: UInt8
        let content: Range<Int>
        var isFile: Bool { type == UInt8(ascii: "0") || type == 0 }
    }

    static func members(_ data: Data, name archive: String) throws -> [Member] {
        let bytes = [UInt8](data)
        var members: [Member] = [], offset = 0
        var pendingName: String?   // from a GNU long-name member or a pax header, for the next member
        while offset + 512 <= bytes.count {
            let header = bytes[offset..<(offset + 512)]
            if header.allSatisfy({ $0 == 0 }) { return members }   // the end-of-archive blocks
            try checkSum(header, at: offset, archive: archive)
            let size = try Self.size(header, at: offset, archive: archive)
            let start = offset + 512
            guard size <= bytes.count - start else {
                throw DataError("\(archive): truncated tar data (a member at byte \(offset) claims \(size) bytes, \(bytes.count - start) follow)")
            }
            let type = header[header.startIndex + 156], content = start..<(start + size)
            switch type {
            case UInt8(ascii: "L"):
                pendingName = text(bytes[content])
            case UInt8(ascii: "x"):
                if let path = paxPath(bytes[content]) { pendingName = path }
            case UInt8(ascii: "g"):
                break
            default:
                let name = pendingName ?? headerName(header)
                pendingName = nil
                try refuseTraversal(name, archive: archive)
                members.append(Member(name: name, type: type, content: content))
            }
            offset = start + (size + 511) / 512 * 512
        }
        throw DataError("\(archive): truncated tar data (no end-of-archive block)")
    }

    /// `prefix/name` of a ustar header; `name` alone otherwise.
    private static func headerName(_ header: ArraySlice<UInt8>) -> String {
        let h = header.startIndex
        let name = text(header[h..<(h + 100)])
        let isUstar = header[(h + 257)..<(h + 262)].elementsEqual("ustar".utf8)
        let prefix = isUstar ? text(header[(h + 345)..<(h + 500)]) : ""
        return prefix.isEmpty ? name : prefix + "/" + name
    }

    /// The size field: octal digits, or base-256 when its first byte has the high bit (GNU, for large files).
    private static func size(_ header: ArraySlice<UInt8>, at offset: Int, archive: String) throws -> Int {
        let field = header[(header.startIndex + 124)..<(header.startIndex + 136)]
        var value = 0
        if let first = field.first, first & 0x80 != 0 {
            for byte in [first & 0x7f] + field.dropFirst() {
                guard value < 1 << 48 else { throw DataError("\(archive): a tar member at byte \(offset) claims an impossible size") }
                value = value << 8 | Int(byte)
            }
            return value
        }
        for byte in field where byte != 0 && byte != UInt8(ascii: " ") {
            guard (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(byte), value < 1 << 48 else {
                throw DataError("\(archive): not a tar archive (bad size field at byte \(offset))")
            }
            value = value * 8 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    /// The header checksum: the sum of its bytes with the checksum field read as spaces.
    private static func checkSum(_ header: ArraySlice<UInt8>, at offset: Int, archive: String) throws {
        let h = header.startIndex
        let sum = header.enumerated().reduce(0) { $0 + ((148..<156).contains($1.offset) ? 32 : Int($1.element)) }
        let stored = header[(h + 148)..<(h + 156)].prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "7") || $0 == UInt8(ascii: " ") }
            .filter { $0 != UInt8(ascii: " ") }.reduce(0) { $0 * 8 + Int($1 - UInt8(ascii: "0")) }
        guard sum == stored else { throw DataError("\(archive): not a tar archive (header checksum mismatch at byte \(offset))") }
    }

    /// The `path` record of a pax extended header (`LENGTH path=VALUE\n` records).
    private static func paxPath(_ content: ArraySlice<UInt8>) -> String? {
        for record in content.split(separator: UInt8(ascii: "\n")) {
            guard let space = record.firstIndex(of: UInt8(ascii: " ")) else { continue }
            let field = String(decoding: record[(space + 1)...], as: UTF8.self)
            if field.hasPrefix("path=") { return String(field.dropFirst(5)) }
        }
        return nil
    }

    private static func text(_ field: ArraySlice<UInt8>) -> String {
        String(decoding: field.prefix { $0 != 0 }, as: UTF8.self)
    }

    private static func refuseTraversal(_ name: String, archive: String) throws {
        if name.hasPrefix("/") || name.split(separator: "/").contains("..") {
            throw DataError("\(archive): the member \(String(reflecting: String(name.prefix(80)))) leads outside the folder it unpacks into; refusing the archive")
        }
    }
}
