import ConvNetData
import Dispatch
import Foundation
import Images

/// Writes labelled images as an image folder that `ImageFolderFiles` reads back to the same samples
/// in the same order: `DIRECTORY/<class name>/<sample number>.png` (or `.jpg`), numbers zero-padded so
/// that name order is sample order.
public enum ImageFolderWriter {
    public enum Encoding: Sendable {
        case png
        case jpeg(quality: Int)

        var fileExtension: String {
            switch self {
            case .png: return "png"
            case .jpeg: return "jpg"
            }
        }
    }

    /// `classNames[k]` names label `k`'s folder (default: the label's number). Files are written on `threads` threads.
    public static func write(_ images: LabelledImages, to directory: String, classNames: [String]? = nil,
                             encoding: Encoding, threads: Int = 1) throws {
        let labelCount = (images.labels.max().map(Int.init) ?? -1) + 1
        let names = classNames ?? (0..<labelCount).map(String.init)
        guard names.count >= labelCount else { throw DataError("\(labelCount) labels but only \(names.count) class names") }
        // Each name becomes one folder that the reader lists back as the same class: no path separator,
        // no hidden or special name, no control character (class_names.txt holds one name per line).
        if let bad = names.first(where: { $0.isEmpty || $0.hasPrefix(".") || $0.contains("/")
                                          || $0.unicodeScalars.contains { $0.properties.generalCategory == .control } }) {
            throw DataError("the class name \(quoted(bad)) cannot be a folder name (empty, starting with \".\", or holding \"/\" or a "
                            + "control character such as a newline); rename the class")
        }
        guard Set(names).count == names.count else { throw DataError("two classes have the same name; class names must differ") }
        for name in names {
            let folder = (directory as NSString).appendingPathComponent(name)
            do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
                throw DataError("cannot create folder \(folder): \(systemReason(error))")
            }
        }
        let digits = String(max(images.count - 1, 0)).count
        let firstFailure = LockedBox<String?>(nil)
        let threads = max(1, min(threads, images.count))
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            for i in (images.count * thread / threads)..<(images.count * (thread + 1) / threads) {
                let start = i * images.sampleSize
                let picture = Picture(width: images.width, height: images.height, channels: images.channels,
                                      pixels: Array(images.pixels[start..<(start + images.sampleSize)]))
                let data: Data
                switch encoding {
                case .png: data = PNG.encode(picture)
                case .jpeg(let quality): data = JPEG.encode(picture, quality: quality)
                }
                let number = String(i), padded = String(repeating: "0", count: digits - number.count) + number
                let path = ((directory as NSString).appendingPathComponent(names[Int(images.labels[i])]) as NSString)
                    .appendingPathComponent("\(padded).\(encoding.fileExtension)")
                if !FileManager.default.createFile(atPath: path, contents: data) {
                    firstFailure.mutate { if $0 == nil { $0 = "cannot write \(path)" } }
                }
            }
        }
        if let failure = firstFailure.value { throw DataError(failure) }
    }
}
