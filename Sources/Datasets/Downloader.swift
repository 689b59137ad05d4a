import ConvNetData
import Crypto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Fetches a data set's files into a folder: each file from the first mirror that serves bytes with
/// the pinned checksum, written atomically; files already present and valid are kept.
public struct Downloader {
    public let dataset: DatasetDescription
    public let directory: String
    /// Mirrors to try, in order (the catalog's, or the user's `--mirror`).
    public let mirrors: [String]
    public let timeout: TimeInterval
    public let log: (String) -> Void

    public init(dataset: DatasetDescription, directory: String, mirrors: [String]? = nil, timeout: TimeInterval = 60,
                log: @escaping (String) -> Void = { print($0) }) {
        self.dataset = dataset
        self.directory = directory
        self.mirrors = (mirrors ?? dataset.mirrors).map { $0.hasSuffix("/") ? $0 : $0 + "/" }
        self.timeout = timeout
        self.log = log
    }

    /// Downloads what is missing or invalid. Throws, naming every failed attempt, when a file
    /// cannot be had from any mirror.
    public func run() throws {
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw DataError("cannot create \(directory): \(error.localizedDescription)")
        }
        for (name, checksum) in dataset.files {
            let path = (directory as NSString).appendingPathComponent(name)
            if let existing = FileManager.default.contents(atPath: path), Downloader.matches(existing, checksum) {
                log("\(name): present and verified")
                continue
            }
            var failures: [String] = []
            var fetched = false
            for mirror in mirrors {
                let url = mirror + name
                switch fetch(url) {
                case .failure(let reason):
                    failures.append("\(url): \(reason)")
                case .success(let data) where !Downloader.matches(data, checksum):
                    failures.append("\(url): checksum mismatch (\(data.count) bytes)")
                case .success(let data):
                    try AtomicFile.write(data, to: path)
                    log("\(name): downloaded from \(mirror) and verified (\(data.count) bytes)")
                    fetched = true
                }
                if fetched { break }
            }
            guard fetched else {
                throw DataError("could not download \(name) for \(dataset.name): " + failures.joined(separator: "; ")
                                + " (offline? copy the four files into \(directory), or pass --data-dir / set CONVNET_DATA_DIR)")
            }
        }
    }

    enum Fetch { case success(Data), failure(String) }

    private func fetch(_ address: String) -> Fetch {
        guard let url = URL(string: address) else { return .failure("not a URL") }
        if url.isFileURL {
            guard let data = FileManager.default.contents(atPath: url.path) else { return .failure("no such file") }
            return .success(data)
        }
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = timeout * 10
        let session = URLSession(configuration: configuration)
        defer { session.finishTasksAndInvalidate() }
        final class Box: @unchecked Sendable { var result = Fetch.failure("no answer") }
        let box = Box(), done = DispatchSemaphore(value: 0)
        session.dataTask(with: url) { data, response, error in
            if let error {
                box.result = .failure(error.localizedDescription)
            } else if let http = response as? HTTPURLResponse, http.statusCode != 200 {
                box.result = .failure("HTTP \(http.statusCode)")
            } else if let data {
                box.result = .success(data)
            }
            done.signal()
        }.resume()
        done.wait()
        return box.result
    }

    public static func matches(_ data: Data, _ checksum: DatasetDescription.Checksum) -> Bool {
        switch checksum {
        case .sha256(let expected): return hex(SHA256.hash(data: data)) == expected
        case .md5(let expected): return hex(Insecure.MD5.hash(data: data)) == expected
        }
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { String(format: "%02x", $0) }.joined()
    }
}
