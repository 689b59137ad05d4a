import ConvNetData
import Foundation
import ZIPFoundation

/// The `npz` format, as Keras's `mnist.npz`: one `.npz` file in the folder (a ZIP of `.npy` arrays,
/// stored or deflated) holding `x_train` (N, H, W) or (N, H, W, C) uint8 pixels, `y_train` (N,)
/// labels, and `x_test`, `y_test`. ZIPFoundation reads the archive; `NPYHeader` the arrays.
public struct NPZFiles: DataSetFiles {
    public static let format = "npz"
    public static let layout = "one .npz file as Keras's mnist.npz (x_train, y_train, x_test, y_test)"
    public let directory: String

    public init(directory: String, options: DataSetOptions = DataSetOptions()) { self.directory = directory }

    public var isComplete: Bool { (try? archivePath()) != nil }

    public func loadTraining(shard: Shard, expectedShape: [Int], classes: Int) throws -> LabelledImages {
        try load(images: "x_train", labels: "y_train", shard: shard, expectedShape: expectedShape, classes: classes)
    }

    public func loadTest(shard: Shard, expectedShape: [Int], classes: Int) throws -> LabelledImages {
        try load(images: "x_test", labels: "y_test", shard: shard, expectedShape: expectedShape, classes: classes)
    }

    /// The folder's one `.npz` file.
    func archivePath() throws -> String {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let archives = names.filter { $0.hasSuffix(".npz") }.sorted()
        guard archives.count == 1 else {
            throw DataError(archives.isEmpty ? "no .npz file in \(directory) (expected one, as Keras's mnist.npz)"
                                             : "\(directory) holds \(archives.count) .npz files (\(archives.prefix(8).map { quoted($0, limit: 24, marks: false) }.joined(separator: ", "))\(archives.count > 8 ? ", ..." : "")); expected one")
        }
        return (directory as NSString).appendingPathComponent(archives[0])
    }

    private func load(images: String, labels: String, shard: Shard, expectedShape: [Int], classes: Int) throws -> LabelledImages {
        let path = try archivePath()
        let size = try RegularFile.check(path)
        let archive: Archive
        do { archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read) } catch {
            throw DataError("\(path): not a readable .npz (ZIP) file")
        }
        let (pixelHeader, pixels) = try Self.array(images, in: archive, path: path, fileSize: size)
        let (labelHeader, labelBytes) = try Self.array(labels, in: archive, path: path, fileSize: size)
        let shape = pixelHeader.shape
        guard shape.count == 3 || shape.count == 4 else {
            throw DataError("\(path): \(images) has shape \(NPYHeader.shown(shape)); expected (N, height, width) or (N, height, width, channels)")
        }
        guard labelHeader.shape == [shape[0]] else {
            throw DataError("\(path): \(labels) has shape \(NPYHeader.shown(labelHeader.shape)) but \(images) holds \(shape[0]) images")
        }
        // The model's shape is known: a file of other images is refused before anything is sized by its claims.
        let imageShape = [shape[1], shape[2], shape.count == 4 ? shape[3] : 1]
        guard imageShape == expectedShape else {
            throw DataError("dimensions mismatch: \(path) (\(images)) holds \(imageShape.map(String.init).joined(separator: "x")) images "
                            + "but the model expects \(expectedShape.map(String.init).joined(separator: "x"))")
        }
        let sampleSize = shape.dropFirst().reduce(1, *)   // at most 2^40 (NPYHeader.maximumElements): no overflow
        var kept: [UInt8] = [], keptLabels: [UInt8] = []
        kept.reserveCapacity(shape[0] / shard.count * sampleSize + sampleSize)
        for i in stride(from: shard.index, to: shape[0], by: shard.count) {
            kept += pixels[i * sampleSize ..< (i + 1) * sampleSize]
            keptLabels.append(labelBytes[i])
        }
        return try LabelledImages.checked(pixels: kept, labels: keptLabels, height: shape[1], width: shape[2],
                                          channels: shape.count == 4 ? shape[3] : 1, shard: shard, totalCount: shape[0],
                                          source: "\(path) (\(images))", expectedShape: expectedShape, classes: classes)
    }

    /// The array `name` of the archive, checked: its header, its size against the archive's, its CRC.
    /// Every reader bounds sizes by the file's size before allocating (here: the entry's claimed size
    /// against deflate's largest ratio); arithmetic on sizes read from files is checked (NPYHeader).
    private static func array(_ name: String, in archive: Archive, path: String, fileSize: Int) throws -> (NPYHeader, [UInt8]) {
        let label = "\(path) (\(name))"
        let members = archive.filter { $0.path == name + ".npy" }
        guard let entry = members.first else {
            let present = archive.map { String($0.path.hasSuffix(".npy") ? $0.path.dropLast(4) : $0.path[...]) }.sorted()
            let list = present.prefix(8).map { quoted($0, limit: 24, marks: false) }.joined(separator: ", ") + (present.count > 8 ? ", ..." : "")
            throw DataError("\(path): no array \(name) (holds: \(present.isEmpty ? "nothing" : list))")
        }
        // NumPy's np.load takes the last of two same-named members, ZIPFoundation the first: neither is a guess to make.
        guard members.count == 1 else {
            throw DataError("\(path): holds \(members.count) members named \(name).npy; save the arrays again (numpy.savez) so that each name is stored once")
        }
        // Deflate expands at most 1032-fold: a directory entry that claims more is a lie, refused before reading.
        guard entry.uncompressedSize <= UInt64(fileSize) * 1032, entry.uncompressedSize <= 1 << 40 else {
            throw DataError("\(label): claims \(entry.uncompressedSize) bytes, more than a \(fileSize)-byte archive can hold")
        }
        var data = Data()
        data.reserveCapacity(Int(entry.uncompressedSize))
        do {
            let checksum = try archive.extract(entry) { chunk in
                guard data.count + chunk.count <= Int(entry.uncompressedSize) else { throw DataError("\(label): more data than the archive's directory says") }
                data.append(chunk)
            }
            guard checksum == entry.checksum else { throw DataError("\(label): CRC mismatch (the archive is corrupt)") }
        } catch let error as DataError { throw error } catch {
            throw DataError("\(label): corrupt archive data (\(quoted("\(error)", limit: 60)))")
        }
        let header = try NPYHeader.parse(data, name: label)
        return (header, try header.bytes(of: data, name: label))
    }
}
