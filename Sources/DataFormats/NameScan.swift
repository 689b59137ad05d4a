import Foundation

/// File names that Foundation cannot represent: it hands out names as Swift strings, and a name
/// whose bytes are not UTF-8 is left out of its listings without a word. The folder reader counts
/// them with the system's own listing, so that they are refused or warned about, never lost.
struct NameScan {
    /// Picture files (by extension) and folders under the scanned folder whose names are not UTF-8.
    var count = 0
    /// The first of them, its path below the scanned folder quoted with `\xHH` for bytes that are not UTF-8.
    var first: String?

    mutating func add(_ other: NameScan) {
        count += other.count
        if first == nil { first = other.first }
    }

    /// The names in `folder` (and below it when `recursive`; links are not followed) that are not UTF-8;
    /// `first` is shown below `shownAs` (a relative path of `folder`), when given.
    static func nonUTF8(in folder: String, recursive: Bool, shownAs: String? = nil) -> NameScan {
        var scan = NameScan()
        var pending: [[UInt8]] = [Array(folder.utf8)]
        let root = pending[0].count
        while let current = pending.popLast() {
            guard let directory = opendir(current.map { CChar(bitPattern: $0) } + [0]) else { continue }
            defer { closedir(directory) }
            while let entry = readdir(directory) {
                let name = Self.name(entry)
                if name.first == UInt8(ascii: ".") { continue }   // ".", "..", hidden files: skipped by the reader anyway
                let path = current + [UInt8(ascii: "/")] + name
                var isFolder = entry.pointee.d_type == UInt8(DT_DIR)
                if entry.pointee.d_type == UInt8(DT_UNKNOWN) {
                    var status = stat()
                    isFolder = lstat(path.map { CChar(bitPattern: $0) } + [0], &status) == 0 && status.st_mode & S_IFMT == S_IFDIR
                }
                if String(validating: name, as: UTF8.self) == nil {
                    guard isFolder || isPictureName(name) else { continue }
                    scan.count += 1
                    if scan.first == nil {
                        let below = shownAs.map { Array($0.utf8) + [UInt8(ascii: "/")] } ?? []
                        scan.first = quoted(bytes: below + Array(path.dropFirst(root + 1)), limit: 60)
                    }
                } else if isFolder && recursive {
                    pending.append(path)
                }
            }
        }
        return scan
    }

    /// The name of a directory entry, as bytes. Read through a pointer up to its NUL: glibc allocates
    /// each entry only as long as its name, so copying the whole 256-byte `d_name` would read past it.
    static func name(_ entry: UnsafeMutablePointer<dirent>) -> [UInt8] {
        let start = UnsafeRawPointer(entry) + MemoryLayout<dirent>.offset(of: \dirent.d_name)!
        return Array(UnsafeRawBufferPointer(start: start, count: strlen(start.assumingMemoryBound(to: CChar.self))))
    }

    /// A .png, .jpg or .jpeg name, by its bytes.
    private static func isPictureName(_ name: [UInt8]) -> Bool {
        let lower = name.suffix(5).map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }
        return [".png", ".jpg", ".jpeg"].contains { lower.reversed().starts(with: Array($0.utf8).reversed()) }
    }
}
