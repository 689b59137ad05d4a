import Foundation

/// Picture files as `predict` and image folders read them: the container is told by its first bytes
/// (not its name), and the library for it decodes to the channels the model takes.
public enum PictureFile {
    /// File name extensions of pictures in image folders, as Keras's `image_dataset_from_directory`
    /// (minus the formats it reads and convnet-dist does not: BMP, GIF).
    public static let folderExtensions: Set<String> = ["png", "jpg", "jpeg"]

    /// True when `name`'s extension is one of `extensions` (case-insensitive).
    public static func isPictureName(_ name: String, extensions: Set<String> = folderExtensions) -> Bool {
        extensions.contains((name as NSString).pathExtension.lowercased())
    }

    /// Walks `folder` at any depth and calls `body` with the path (relative to `folder`) of every
    /// picture file: a file, not a folder, whose name has one of `extensions` and does not start
    /// with '.' (macOS's `._x.jpg` companions). `body` returns false to stop. Returns how many other
    /// files were passed over. Image folders and `predict` find pictures by this one rule.
    @discardableResult
    public static func walk(_ folder: String, extensions: Set<String> = folderExtensions, _ body: (String) -> Bool) throws -> Int {
        guard let walk = FileManager.default.enumerator(atPath: folder) else { throw ImageError("\(folder): cannot read folder") }
        var skipped = 0
        while let relative = walk.nextObject() as? String {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent(relative), isDirectory: &isFolder),
                  !isFolder.boolValue else { continue }
            guard isPictureName(relative, extensions: extensions), !(relative as NSString).lastPathComponent.hasPrefix(".") else {
                skipped += 1
                continue
            }
            if !body(relative) { break }
        }
        return skipped
    }

    /// Python's string order (by code points, as `sorted` orders file and class names in Keras), not
    /// Swift's (which compares canonical forms).
    public static func precedes(_ a: String, _ b: String) -> Bool { a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars) }

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
