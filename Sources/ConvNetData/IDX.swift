/// Which samples of a data set this process keeps: sample `i` belongs to shard `i % count`.
///
/// A strided split makes every shard a near-equal share (sizes differ by at most one) and lets a
/// global batch of consecutive indices be cut into per-rank parts without moving data.
public struct Shard: Equatable, Sendable {
    public let index: Int
    public let count: Int

    public init(index: Int, count: Int) {
        precondition(count >= 1 && index >= 0 && index < count)
        self.index = index
        self.count = count
    }

    public static let whole = Shard(index: 0, count: 1)

    public func contains(_ sample: Int) -> Bool { sample % count == index }

    /// How many of `total` samples this shard holds.
    public func size(of total: Int) -> Int { total / count + (index < total % count ? 1 : 0) }

    /// Position inside the shard of a sample the shard contains.
    public func localIndex(of sample: Int) -> Int { sample / count }

    /// The file sample index of this shard's local sample `local`.
    public func globalIndex(of local: Int) -> Int { local * count + index }
}

/// Images from an IDX file (magic 2051): `count x rows x columns` unsigned bytes, row-major.
public struct IDXImages: Sendable {
    /// Images in the file, including those another shard keeps.
    public let totalCount: Int
    public let rows: Int
    public let columns: Int
    public let shard: Shard
    /// Pixels of the kept images, in file order, `keptCount * rows * columns` bytes.
    public let pixels: [UInt8]

    public var keptCount: Int { shard.size(of: totalCount) }
}

/// Labels from an IDX file (magic 2049): `count` unsigned bytes.
public struct IDXLabels: Sendable {
    public let totalCount: Int
    public let shard: Shard
    /// Labels of the kept samples, in file order.
    public let labels: [UInt8]
}

/// Reader for the IDX format (big-endian header: magic, then one 32-bit size per dimension), for
/// gzip-compressed and plain files. It checks the magic, the dimensions, truncation and trailing
/// data, and names the file and the fault.
public enum IDX {
    public static let imagesMagic: UInt32 = 2051
    public static let labelsMagic: UInt32 = 2049

    /// Largest image side accepted (the format allows 2^32 - 1).
    public static let maximumSide = 1 << 14

    /// `expectedSize`: the `(rows, columns)` the caller needs; a file of another size is refused
    /// right after its header, before its pixels are read.
    public static func readImages(path: String, shard: Shard = .whole, expectedSize: (Int, Int)? = nil) throws -> IDXImages {
        let reader = try ByteReader(path: path)
        let header = try readHeader(reader, expectedMagic: imagesMagic, dimensions: 3, kind: "images")
        let (count, rows, columns) = (header[0], header[1], header[2])
        guard rows > 0, columns > 0 else { throw DataError("\(path): image size \(rows)x\(columns) is empty") }
        guard rows <= maximumSide, columns <= maximumSide else {
            throw DataError("\(path): header claims \(rows)x\(columns) images; the limit is \(maximumSide) per side")
        }
        if let (expectedRows, expectedColumns) = expectedSize, (rows, columns) != (expectedRows, expectedColumns) {
            throw DataError("dimensions mismatch: \(path) holds \(rows)x\(columns) images but the model expects \(expectedRows)x\(expectedColumns)x1")
        }
        let pixels = try readSharded(reader, count: count, itemSize: rows * columns, headerBytes: 16, shard: shard, what: "pixel data")
        return IDXImages(totalCount: count, rows: rows, columns: columns, shard: shard, pixels: pixels)
    }

    public static func readLabels(path: String, shard: Shard = .whole) throws -> IDXLabels {
        let reader = try ByteReader(path: path)
        let header = try readHeader(reader, expectedMagic: labelsMagic, dimensions: 1, kind: "labels")
        let labels = try readSharded(reader, count: header[0], itemSize: 1, headerBytes: 8, shard: shard, what: "label data")
        return IDXLabels(totalCount: header[0], shard: shard, labels: labels)
    }

    private static func readHeader(_ reader: ByteReader, expectedMagic: UInt32, dimensions: Int,
                                   kind: String) throws -> [Int] {
        let bytes = try reader.readExactly(4 * (1 + dimensions), what: "IDX header")
        func word(_ i: Int) -> UInt32 {
            bytes[4 * i ..< 4 * i + 4].reduce(0) { $0 << 8 | UInt32($1) }
        }
        let magic = word(0)
        guard magic == expectedMagic else {
            throw DataError("\(reader.path): bad magic number \(magic), expected \(expectedMagic) for IDX \(kind)")
        }
        return (1...dimensions).map { Int(word($0)) }
    }

    /// Streams `count` items of `itemSize` bytes, keeping those in `shard`, then insists the file ends.
    /// The header's claim is checked against what the file can hold before anything is allocated.
    private static func readSharded(_ reader: ByteReader, count: Int, itemSize: Int, headerBytes: Int, shard: Shard,
                                    what: String) throws -> [UInt8] {
        let (claimed, overflow) = count.multipliedReportingOverflow(by: itemSize)
        guard !overflow, claimed <= reader.maximumBytes - headerBytes else {
            if reader.isCompressed {
                throw DataError("\(reader.path): header claims \(count) items of \(itemSize) bytes of \(what), more than a gzip file of its size can hold")
            }
            throw DataError("\(reader.path): truncated: header promises \(overflow ? "more than \(Int.max)" : String(claimed)) bytes of \(what), found \(reader.maximumBytes - headerBytes)")
        }
        // The shard grows as data arrives, so a compressed file that claims more than it holds costs no more memory than it has.
        let keptTotal = shard.size(of: count) * itemSize
        var kept: [UInt8] = []
        kept.reserveCapacity(min(keptTotal, 1 << 26))
        let itemsPerChunk = max(1, (1 << 20) / itemSize)
        // Never more than the header's (already bounded) claim: an empty file of huge images allocates nothing.
        var chunk = [UInt8](repeating: 0, count: min(itemsPerChunk, count) * itemSize)
        var item = 0
        while item < count {
            let items = min(itemsPerChunk, count - item)
            let wanted = items * itemSize
            let got = try chunk.withUnsafeMutableBytes {
                try reader.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<wanted]))
            }
            guard got == wanted else {
                let found = item * itemSize + got
                throw DataError("\(reader.path): truncated: header promises \(count * itemSize) bytes of \(what), found \(found)")
            }
            for i in 0..<items where shard.contains(item + i) {
                kept.append(contentsOf: chunk[(i * itemSize)..<((i + 1) * itemSize)])
            }
            item += items
        }
        guard try reader.atEnd() else {
            throw DataError("\(reader.path): unexpected bytes after the \(count) items the header declares")
        }
        return kept
    }
}
