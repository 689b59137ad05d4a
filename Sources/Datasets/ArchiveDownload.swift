import ConvNetData
import Foundation

extension Downloader {
    /// Fetches `archive` from the first mirror that serves it with the pinned size and checksum,
    /// checked before anything is unpacked; unpacks it in memory within `archive.unpackedLimit`
    /// bytes; and writes its members flat into the folder, each atomically, after all were found
    /// whole. A folder that already holds every member at its size is kept as it is.
    func run(_ archive: DatasetArchive) throws {
        let paths = archive.members.map { (directory as NSString).appendingPathComponent($0.name) }
        if let clash = paths.first(where: { FileManager.default.fileExists(atPath: $0) && Downloader.existingSize($0) == nil }) {
            throw DataError("\(clash) exists and is not a regular file; move it away, then download again")
        }
        let present = zip(archive.members, paths).allSatisfy { member, path in
            guard let size = Downloader.existingSize(path) else { return false }
            return member.size.map { $0 == size } ?? (size <= DatasetArchive.smallFileLimit)
        }
        if present {
            log("\(dataset.name): all \(paths.count) files present at their sizes")
            return
        }
        var failures: [String] = []
        for mirror in mirrors {
            let url = mirror + archive.name
            switch fetch(url, size: archive.size) {
            case .failure(let reason):
                failures.append("\(url): \(reason)")
            case .success(let data) where data.count != archive.size:
                failures.append("\(url): \(data.count) bytes, the archive has \(archive.size)")
            case .success(let data) where !Downloader.matches(data, archive.checksum):
                failures.append("\(url): checksum mismatch (\(data.count) bytes)")
            case .success(let data):
                log("\(archive.name): downloaded from \(mirror) and verified (\(data.count) bytes)")
                try unpack(data, archive, into: paths)
                return
            }
        }
        throw DataError("could not download \(archive.name) for \(dataset.name): " + failures.joined(separator: "; ")
                        + " (offline? unpack the archive into \(directory) yourself, or pass --data-dir / set CONVNET_DATA_DIR)")
    }

    private func unpack(_ data: Data, _ archive: DatasetArchive, into paths: [String]) throws {
        let tar = try Gunzip.decompress(data, limit: archive.unpackedLimit, name: archive.name)
        let members = try TarArchive.members(tar, name: archive.name)
        var contents: [Data] = []
        for expected in archive.members {
            let wanted = archive.folder + "/" + expected.name
            let found = members.filter { $0.isFile && ($0.name == wanted || $0.name == "./" + wanted) }
            guard found.count == 1, let member = found.first else {
                throw DataError("\(archive.name) holds \(found.isEmpty ? "no" : "\(found.count)") \(wanted); it is not the expected archive")
            }
            let size = member.content.count
            guard expected.size.map({ $0 == size }) ?? (size <= DatasetArchive.smallFileLimit) else {
                throw DataError("\(archive.name): \(wanted) has \(size) bytes, expected \(expected.size.map(String.init) ?? "at most \(DatasetArchive.smallFileLimit)")")
            }
            contents.append(tar.subdata(in: member.content))
        }
        for (content, path) in zip(contents, paths) { try AtomicFile.write(content, to: path) }
        log("\(archive.name): unpacked \(paths.count) files into \(directory)")
    }
}
