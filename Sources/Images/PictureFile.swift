import Foundation

/// Picture files as `predict` and image folders read them: the container is told by its first bytes
/// (not its name), and the library for it decodes to the channels the model takes.
public enum PictureFile {
    /// File name extensions of pictures in image folders, as Keras's `image_dataset_from_directory`
    /// (minus the formats it reads and convnet-dist does not: BMP, GIF).
    public static let folderExtensions: Set<String> = ["png", "jpg", "jpeg"]

    /// True when `name`'s extension marks a picture for an image folder (other files are skipped).
    public static func isPictureName(_ name: String) -> Bool {
        folderExtensions.contains((name as NSString).pathExtension.lowercased())
    }

    /// The PNG, JPEG or PGM picture in `data` with `channels` channels (1 or 3).
    public static func decode(_ data: Data, name: String, channels: Int) throws -> Picture {
        if PNG.isPNG(data) { return try PNG.decode(data, name: name, channels: channels) }
        if JPEG.isJPEG(data) { return try JPEG.decode(data, name: name, channels: channels) }
        if data.starts(with: Array("P5".utf8)) || data.starts(with: Array("P2".utf8)) {
            let grey = Picture(try PGM.decode(data, name: name))
            return channels == 1 ? grey : Picture(width: grey.width, height: grey.height, channels: 3,
                                                  pixels: grey.pixels.flatMap { [$0, $0, $0] })
        }
        throw ImageError("\(name): not a PNG, JPEG or PGM picture")
    }

    /// Largest picture file read: a compressed picture of the largest size decoded is far smaller,
    /// and a bigger file (or a sparse one claiming terabytes) would only cost memory and time.
    public static let maximumFileBytes = 256 << 20

    /// The picture file at `path`, read (a regular file of at most `maximumFileBytes`) and decoded.
    public static func read(path: String, channels: Int) throws -> Picture {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              attributes[.type] as? FileAttributeType == .typeRegular, let size = attributes[.size] as? Int else {
            throw ImageError("\(path): cannot read file (not a regular file)")
        }
        guard size <= maximumFileBytes else {
            throw ImageError("\(path): \(size) bytes; picture files over \(maximumFileBytes >> 20) MiB are not read")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw ImageError("\(path): cannot read file") }
        return try decode(data, name: path, channels: channels)
    }
}
