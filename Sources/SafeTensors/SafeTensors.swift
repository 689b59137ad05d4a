import Foundation

/// A tensor read from or written to a safetensors file. Only float32 is used by convnet-dist.
public struct SafeTensor: Equatable, Sendable {
    public var shape: [Int]
    public var values: [Float]

    public init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not hold \(values.count) values")
        self.shape = shape
        self.values = values
    }
}

public struct SafeTensorsError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The safetensors format: an 8-byte little-endian header length `N`, `N` bytes of JSON mapping
/// each tensor name to `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets relative to
/// the end of the header) plus an optional `"__metadata__"` map of strings, then the raw
/// little-endian data. Readers elsewhere (Python `safetensors`, NumPy) see the same tensors.
public enum SafeTensors {
    /// Header size above which a file is refused as corrupt (the format's own limit is 100 MB).
    public static let maximumHeaderSize = 100_000_000

    public struct File: Sendable {
        public var tensors: [String: SafeTensor]
        public var metadata: [String: String]
        /// Tensor names in file order (by data offset).
        public var names: [String]
    }

    public static func read(path: String) throws -> File {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SafeTensorsError("\(path): cannot read file")
        }
        do { return try decode(data) } catch let error as SafeTensorsError {
            throw SafeTensorsError("\(path): \(error.description)")
        }
    }

    public static func decode(_ data: Data) throws -> File {
        let bytes = [UInt8](data)
        guard bytes.count >= 8 else { throw SafeTensorsError("truncated: \(bytes.count) bytes, too short for a header length") }
        let headerLength = bytes[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard headerLength <= UInt64(maximumHeaderSize) else {
            throw SafeTensorsError("bad header: header length \(headerLength) is absurd")
        }
        let dataStart = 8 + Int(headerLength)
        guard dataStart <= bytes.count else {
            throw SafeTensorsError("truncated: header needs \(headerLength) bytes, file has \(bytes.count - 8)")
        }
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: Data(bytes[8..<dataStart])) } catch {
            throw SafeTensorsError("bad header: not valid JSON")
        }
        guard let header = json as? [String: Any] else { throw SafeTensorsError("bad header: not a JSON object") }

        var metadata: [String: String] = [:]
        var tensors: [String: SafeTensor] = [:]
        var order: [(String, Int)] = []
        let payload = bytes.count - dataStart
        for (name, entry) in header {
            if name == "__metadata__" {
                guard let map = entry as? [String: String] else { throw SafeTensorsError("bad header: __metadata__ must map strings to strings") }
                metadata = map
                continue
            }
            guard let fields = entry as? [String: Any], let dtype = fields["dtype"] as? String,
                  let shape = integers(fields["shape"]), let offsets = integers(fields["data_offsets"]), offsets.count == 2
            else { throw SafeTensorsError("bad header: tensor \(name) lacks dtype, or its shape or data_offsets are not lists of whole numbers") }
            guard dtype == "F32" else { throw SafeTensorsError("tensor \(name) has dtype \(dtype); only F32 is supported") }
            guard shape.allSatisfy({ $0 >= 0 && $0 < 1 << 31 }) else { throw SafeTensorsError("bad header: tensor \(name) has an absurd shape \(shape)") }
            let (elements, overflow) = shape.reduce((1, false)) { acc, d in
                let r = acc.0.multipliedReportingOverflow(by: d)
                return (r.partialValue, acc.1 || r.overflow)
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard !overflow, begin >= 0, end >= begin, end - begin == elements * 4 else {
                throw SafeTensorsError("bad header: tensor \(name) has offsets \(offsets) that do not fit shape \(shape)")
            }
            guard end <= payload else {
                throw SafeTensorsError("truncated: tensor \(name) ends at byte \(end) of the data but only \(payload) are present")
            }
            var values = [Float](repeating: 0, count: elements)
            values.withUnsafeMutableBytes { target in
                bytes.withUnsafeBytes { source in
                    target.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[(dataStart + begin)..<(dataStart + end)]))
                }
            }
            #if _endian(big)
            values = values.map { Float(bitPattern: $0.bitPattern.byteSwapped) }
            #endif
            tensors[name] = SafeTensor(shape: shape, values: values)
            order.append((name, begin))
        }
        // The format's rule: tensors tile the data, in offset order, without holes or overlaps.
        let sorted = order.sorted { $0.1 < $1.1 }
        var expected = 0
        for (name, begin) in sorted {
            guard begin == expected else {
                throw SafeTensorsError("bad header: tensor \(name) starts at byte \(begin) of the data, expected \(expected) (tensors overlap or leave a gap)")
            }
            expected += tensors[name]!.values.count * 4
        }
        guard expected == payload else {
            throw SafeTensorsError("bad header: the tensors cover \(expected) bytes of data, but \(payload) follow the header")
        }
        return File(tensors: tensors, metadata: metadata, names: sorted.map(\.0))
    }

    /// A JSON list of whole numbers in Int's range, or nil (fractions, strings and huge values are refused).
    private static func integers(_ value: Any?) -> [Int]? {
        guard let items = value as? [Any] else { return nil }
        var result: [Int] = []
        for item in items {
            guard let number = item as? NSNumber else { return nil }
            let double = number.doubleValue
            guard double.isFinite, double == double.rounded(), abs(double) < 9.0e15 else { return nil }
            result.append(number.intValue)
        }
        return result
    }

    /// Encodes tensors in the given order with the given metadata.
    public static func encode(_ tensors: [(name: String, tensor: SafeTensor)], metadata: [String: String]) -> Data {
        var entries: [String] = []
        if !metadata.isEmpty {
            let fields = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
            entries.append("\"__metadata__\":{\(fields.joined(separator: ","))}")
        }
        var offset = 0
        for (name, tensor) in tensors {
            let size = tensor.values.count * 4
            entries.append("\(jsonString(name)):{\"dtype\":\"F32\",\"shape\":[\(tensor.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + size)]}")
            offset += size
        }
        var header = Array("{\(entries.joined(separator: ","))}".utf8)
        while (8 + header.count) % 8 != 0 { header.append(UInt8(ascii: " ")) }   // keeps data 8-byte aligned
        var data = Data(capacity: 8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: header)
        for (_, tensor) in tensors {
            tensor.values.withUnsafeBytes { data.append(contentsOf: $0) }
        }
        return data
    }

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
