import Foundation

/// TFRecord framing, the container of TensorFlow events files: each record is
///
///     uint64 length (little endian) | uint32 masked CRC-32C of those 8 bytes | data | uint32 masked CRC-32C of data
///
/// (see `CRC32C.masked`).
public enum TFRecord {
    /// `data` as one framed record.
    public static func frame(_ data: Data) -> Data {
        var record = Data(capacity: data.count + 16)
        let length = littleEndianBytes(UInt64(data.count))
        record.append(contentsOf: length)
        record.append(contentsOf: littleEndianBytes(CRC32C.maskedChecksum(length)))
        record.append(data)
        record.append(contentsOf: littleEndianBytes(CRC32C.maskedChecksum(data)))
        return record
    }

    /// The records of `bytes`, each checked against both of its checksums; throws on a damaged
    /// record, naming its offset, and on a truncated one unless `toleratingTruncatedEnd` (then the
    /// records before it, as TensorFlow's reader does with a file still being written).
    public static func records(in bytes: Data, toleratingTruncatedEnd: Bool = false) throws -> [Data] {
        var records: [Data] = []
        var offset = bytes.startIndex
        while offset < bytes.endIndex {
            guard bytes.endIndex - offset >= 12 else {
                if toleratingTruncatedEnd { break }
                throw TFRecordError("truncated record header at byte \(offset - bytes.startIndex)")
            }
            let lengthBytes = bytes[offset..<offset + 8]
            guard integer(bytes, at: offset + 8, as: UInt32.self) == CRC32C.maskedChecksum(lengthBytes) else {
                throw TFRecordError("bad length checksum at byte \(offset - bytes.startIndex)")
            }
            let length = integer(bytes, at: offset, as: UInt64.self)
            let start = offset + 12
            guard length <= UInt64(bytes.endIndex - start), bytes.endIndex - start - Int(length) >= 4 else {
                if toleratingTruncatedEnd { break }
                throw TFRecordError("truncated record at byte \(offset - bytes.startIndex)")
            }
            let data = bytes[start..<start + Int(length)]
            guard integer(bytes, at: start + Int(length), as: UInt32.self) == CRC32C.maskedChecksum(data) else {
                throw TFRecordError("bad data checksum in the record at byte \(offset - bytes.startIndex)")
            }
            records.append(Data(data))
            offset = start + Int(length) + 4
        }
        return records
    }

    private static func littleEndianBytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        (0..<T.bitWidth / 8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }

    private static func integer<T: FixedWidthInteger>(_ bytes: Data, at offset: Int, as: T.Type) -> T {
        (0..<T.bitWidth / 8).reduce(T(0)) { $0 | T(bytes[offset + $1]) << (8 * $1) }
    }
}

public struct TFRecordError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
