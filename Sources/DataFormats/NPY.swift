import ConvNetData
import Foundation

/// The header of a NumPy `.npy` array: `\x93NUMPY`, a version byte pair, the header's length, then a
/// Python dict literal such as `{'descr': '|u1', 'fortran_order': False, 'shape': (60000, 28, 28), }`.
/// Only what convnet-dist needs is accepted: C-order arrays of one-byte or little-endian integers.
struct NPYHeader: Equatable {
    /// NumPy's type string: `|u1` (uint8), `<i8` (int64), ...
    var descr: String
    var shape: [Int]
    /// Bytes before the data.
    var dataOffset: Int

    var elementSize: Int { Int(descr.dropFirst(2)) ?? 0 }
    /// The most values an array may hold, counting every dimension but zeros: its samples and the
    /// size of one sample stay far from overflow.
    static let maximumElements = 1 << 40
    var count: Int { shape.reduce(1, *) }

    static func parse(_ bytes: Data, name: String) throws -> NPYHeader {
        let b = [UInt8](bytes.prefix(12))
        guard b.count >= 10, b[0] == 0x93, Array(b[1...5]) == Array("NUMPY".utf8) else { throw DataError("\(name): not a .npy array (bad magic)") }
        let (lengthSize, start): (Int, Int) = b[6] == 1 ? (2, 10) : (4, 12)
        guard [1, 2, 3].contains(b[6]), b.count >= start else { throw DataError("\(name): unsupported .npy version \(b[6]).\(b[7])") }
        let length = b[8..<(8 + lengthSize)].reversed().reduce(0) { $0 << 8 | Int($1) }
        guard length <= 65_536, bytes.count >= start + length,
              let text = String(bytes: bytes[bytes.startIndex + start ..< bytes.startIndex + start + length], encoding: .utf8) else {
            throw DataError("\(name): truncated or unreadable .npy header")
        }
        func value(_ key: String) -> Substring? {
            guard let range = text.range(of: "'\(key)':") else { return nil }
            return text[range.upperBound...].drop { $0 == " " }
        }
        guard let descrField = value("descr"), descrField.first == "'",
              let descrEnd = descrField.dropFirst().firstIndex(of: "'") else { throw DataError("\(name): .npy header without 'descr'") }
        let descr = String(descrField[descrField.index(after: descrField.startIndex)..<descrEnd])
        guard let fortran = value("fortran_order") else { throw DataError("\(name): .npy header without 'fortran_order'") }
        guard fortran.hasPrefix("False") else { throw DataError("\(name): Fortran-order arrays are not supported (save with C order)") }
        guard let shapeField = value("shape"), shapeField.first == "(", let close = shapeField.firstIndex(of: ")") else {
            throw DataError("\(name): .npy header without 'shape'")
        }
        var shape: [Int] = []
        for part in shapeField[shapeField.index(after: shapeField.startIndex)..<close].split(separator: ",") {
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let dimension = Int(trimmed), (0...1 << 31).contains(dimension) else { throw DataError("\(name): bad shape entry \(quoted(trimmed, limit: 24))") }
            shape.append(dimension)
        }
        // Arithmetic on sizes read from files is checked. Zero dimensions are skipped: an array of no
        // samples of 2^31 x 2^31 pixels holds no bytes, but its sample size would overflow later.
        var total = 1
        for dimension in shape where dimension > 0 {
            let (product, overflow) = total.multipliedReportingOverflow(by: dimension)
            guard !overflow, product <= maximumElements else {
                throw DataError("\(name): the shape \(Self.shown(shape)) is too large (more than 2^40 values, even without its zero dimensions)")
            }
            total = product
        }
        return NPYHeader(descr: descr, shape: shape, dataOffset: start + length)
    }

    /// A shape as messages show it: a header may list thousands of dimensions, a message the first few.
    static func shown(_ shape: [Int]) -> String {
        "[" + shape.prefix(6).map(String.init).joined(separator: ", ") + (shape.count > 6 ? ", ... (\(shape.count) dimensions)]" : "]")
    }

    /// The array's values as bytes (labels, pixels): one-byte unsigned integers as they are; wider or
    /// signed little-endian integers only when every value fits in 0...255.
    func bytes(of data: Data, name: String) throws -> [UInt8] {
        guard ["|u1", "<u1", "|i1", "<u2", "<u4", "<u8", "<i2", "<i4", "<i8"].contains(descr) else {
            throw DataError("\(name): dtype \(quoted(descr, limit: 12, marks: false)) is not an integer type (expected uint8, as Keras's mnist.npz)")
        }
        let size = elementSize
        guard data.count - dataOffset == count * size else {
            throw DataError("\(name): the header promises \(count * size) bytes of data, found \(data.count - dataOffset)")
        }
        if size == 1 && descr.hasSuffix("u1") { return [UInt8](data.dropFirst(dataOffset)) }
        let signed = descr.dropFirst().hasPrefix("i")
        return try data.dropFirst(dataOffset).withUnsafeBytes { raw -> [UInt8] in
            try (0..<count).map { i in
                var value: UInt64 = 0
                for k in (0..<size).reversed() { value = value << 8 | UInt64(raw[i * size + k]) }
                let negative = signed && raw[i * size + size - 1] & 0x80 != 0
                guard !negative, value <= 255 else { throw DataError("\(name): value at index \(i) is outside 0...255") }
                return UInt8(value)
            }
        }
    }
}
