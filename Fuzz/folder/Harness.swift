// libFuzzer harness for the `folder` data format's names (Sources/DataFormats/ImageFolderFiles.swift
// and NameScan.swift): folder trees whose names the fuzzer makes.
//
// The input is a list of entries separated by NUL bytes. An entry's first byte says what it makes
// (its value mod 4: a 2x2 PNG, a file of garbage, a folder, a symbolic link), the rest is its path
// below a scratch data set folder, as raw bytes: names may hold newlines, tabs or bytes that are not
// UTF-8 ("." and ".." components become "_"). A link's path is split at its first '>' into the link
// and its target (relative, kept inside the folder). The tree is then read as a data set of 2x2 grey pictures, with skip_bad_files set
// when the input's length is even. A DataError is the expected answer; a trap, an out-of-bounds
// access, a hang, or a class name with a control character (it would break class_names.txt) is a bug.
// (With skip_bad_files every picture may be left out: an empty set is for the trainer to refuse.)
//
// Built and run by tools/fuzz (swiftc -sanitize=fuzzer,address); seeds in Fuzz/corpus/folder.
import ConvNetData
import DataFormats
import Foundation
import Images

private let scratch = (ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp") + "/fuzz-folder-\(getpid())"
/// An array, not Data: LeakSanitizer does not see the pointer inside a global Data and would report it.
private let png = [UInt8](PNG.encode(Picture(width: 2, height: 2, channels: 1, pixels: [0, 64, 128, 255])))

private func cString(_ bytes: [UInt8]) -> [CChar] { bytes.map { CChar(bitPattern: $0) } + [0] }

/// Removes `path` and everything under it, by bytes (Foundation cannot name what is not UTF-8).
private func remove(_ path: [UInt8]) {
    if let directory = opendir(cString(path)) {
        while let entry = readdir(directory) {
            let start = UnsafeRawPointer(entry) + MemoryLayout<dirent>.offset(of: \dirent.d_name)!   // not a copy of d_name: see NameScan.name
            let name = Array(UnsafeRawBufferPointer(start: start, count: strlen(start.assumingMemoryBound(to: CChar.self))))
            if name == [46] || name == [46, 46] { continue }
            let child = path + [47] + name
            if entry.pointee.d_type == UInt8(DT_DIR) { remove(child) } else { unlink(cString(child)) }
        }
        closedir(directory)
        rmdir(cString(path))
    } else {
        unlink(cString(path))
    }
}

/// The components of `bytes` as a relative path inside the data set folder.
private func relative(_ bytes: ArraySlice<UInt8>) -> [[UInt8]] {
    bytes.split(separator: 47).prefix(4).map { Array($0) == [46] || Array($0) == [46, 46] ? [95] : Array($0.prefix(40)) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let root = Array(scratch.utf8)
    remove(root)
    mkdir(cString(root), 0o755)
    for entry in input.split(separator: 0, omittingEmptySubsequences: true).prefix(32) {
        let kind = entry.first! % 4, rest = entry.dropFirst()
        let target = kind == 3 ? rest.firstIndex(of: UInt8(ascii: ">")) : nil
        let components = relative(target.map { rest[..<$0] } ?? rest)
        guard !components.isEmpty else { continue }
        var path = root
        for folder in components.dropLast() {
            path += [47] + folder
            mkdir(cString(path), 0o755)
        }
        path += [47] + components.last!
        switch kind {
        case 0, 1:
            let contents = kind == 0 ? png : [0x42] + Array(rest.prefix(16))   // never empty: Foundation leaks a buffer reading an empty file
            let file = open(cString(path), O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            if file >= 0 { _ = contents.withUnsafeBytes { write(file, $0.baseAddress, $0.count) }; close(file) }
        case 2:
            mkdir(cString(path), 0o755)
        default:
            // Targets stay inside the scratch folder: a class folder linked to "/" would be followed
            // through the whole file system (as Keras would follow it), a hang of the harness's making.
            let inside: [UInt8] = target.map { Array(relative(rest[($0 + 1)...].prefix(80)).joined(separator: [47])) } ?? []
            _ = symlink(cString(inside.isEmpty ? [46] : inside), cString(path))
        }
    }
    var options = DataSetOptions(threads: 1, skipBadFiles: size % 2 == 0)
    options.warn = { _ in }
    guard let files = try? DataFormat.files(format: "folder", directory: scratch, options: options),
          let names = try? files.classNames() else { return 0 }
    precondition(!names.contains { $0.unicodeScalars.contains { $0.properties.generalCategory == .control } },
                 "a class name with a control character was accepted")
    if let set = try? files.loadTraining(shard: .whole, expectedShape: [2, 2, 1], classes: names.count) {
        precondition(set.labels.allSatisfy { Int($0) < names.count } && set.pixels.count == set.count * 4, "samples")
    }
    return 0
}
