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
    /// Seconds without an answer before a mirror is given up; a whole file gets at most ten times
    /// that (so a server trickling bytes cannot hold the download forever).
    public let timeout: TimeInterval
    public let log: (String) -> Void

    /// The longest `timeout` accepted.
    public static let maximumTimeout: TimeInterval = 3600

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
            let ns = error as NSError, posix = (ns.userInfo[NSUnderlyingErrorKey] as? Error).map { $0 as NSError }   // the system's words, not Foundation's code
            let reason = posix.flatMap { $0.domain == NSPOSIXErrorDomain ? String(cString: strerror(Int32($0.code))) : nil } ?? ns.localizedFailureReason ?? "cannot create the folder"
            throw DataError("cannot create \(directory): \(reason); choose another --data-dir")
        }
        if let archive = dataset.archive { return try run(archive) }
        for (name, checksum, size) in dataset.files {
            let path = (directory as NSString).appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: path) && Downloader.existingSize(path) == nil {
                throw DataError("\(path) exists and is not a regular file; move it away, then download again")
            }
            switch Downloader.existingSize(path) {
            case size?:
                if let existing = FileManager.default.contents(atPath: path), Downloader.matches(existing, checksum) {
                    log("\(name): present and verified")
                    continue
                }
            case let other?:
                log("\(name): present but \(other) bytes, not \(size): downloading it again")
            case nil:
                break
            }
            var failures: [String] = []
            var fetched = false
            for mirror in mirrors {
                let url = mirror + name
                switch fetch(url, size: size) {
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

    /// Fetches `address`, expecting `size` bytes: a body that grows past it is cut off, and the whole
    /// transfer has a deadline.
    func fetch(_ address: String, size: Int) -> Fetch {
        guard let url = URL(string: address) else { return .failure("not a URL") }
        if url.isFileURL {
            guard let actual = Downloader.existingSize(url.path) else { return .failure("no such file") }
            guard actual == size else { return .failure("\(actual) bytes, the file has \(size)") }
            guard let data = FileManager.default.contents(atPath: url.path) else { return .failure("cannot read the file") }
            return .success(data)
        }
        let receiver = Receiver(limit: size)
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        let deadline = 10 * timeout
        configuration.timeoutIntervalForResource = deadline + 5   // our own deadline below fires first, with its own message
        let session = URLSession(configuration: configuration, delegate: receiver, delegateQueue: nil)
        // Cancelled off this thread: Foundation's cancel waits for its work queue, which a server that
        // keeps sending holds busy until it stops (seen: 60 s), so cancelling here would wait for it.
        defer { DispatchQueue.global().async { session.invalidateAndCancel() } }
        let task = session.dataTask(with: url)
        task.resume()
        guard receiver.done.wait(timeout: .now() + deadline) == .success else {
            return .failure("no complete answer within \(Int(deadline)) s")
        }
        return receiver.result(timeout: timeout)
    }

    /// Collects a response body up to a size limit, for one transfer.
    private final class Receiver: NSObject, URLSessionDataDelegate, @unchecked Sendable {
        let limit: Int
        let done = DispatchSemaphore(value: 0)
        private var body = Data()
        private var failure: String?
        private var error: Error?

        init(limit: Int) { self.limit = limit }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
            if let http = response as? HTTPURLResponse, http.statusCode != 200 {
                failure = "HTTP \(http.statusCode)"
                completionHandler(.cancel)
                return
            }
            if response.expectedContentLength > Int64(limit) {
                failure = "the server announces \(response.expectedContentLength) bytes, the file has \(limit)"
                completionHandler(.cancel)
                return
            }
            completionHandler(.allow)
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
            guard failure == nil else { return }
            if body.count + data.count > limit {
                failure = "the server sent more than the file's \(limit) bytes"
                done.signal()   // fetch cancels the transfer (see there); later data is ignored above
                return
            }
            body.append(data)
        }

        func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
            self.error = error
            done.signal()
        }

        func result(timeout: TimeInterval) -> Fetch {
            if let failure { return .failure(failure) }
            if let error { return .failure(Downloader.describe(error, timeout: timeout)) }
            return .success(body)
        }
    }

    /// Plain words for the network errors users meet, instead of "NSURLErrorDomain error -1001" or
    /// "network error -1007": an error never shows Foundation's codes.
    static func describe(_ error: Error, timeout: TimeInterval) -> String {
        guard let code = (error as? URLError)?.code else { return (error as NSError).localizedFailureReason ?? "the transfer failed" }
        switch code {
        case .httpTooManyRedirects: return "too many redirects (the server redirects in a loop)"
        case .redirectToNonExistentLocation: return "the server redirects to nowhere"
        case .badURL, .unsupportedURL: return "not a URL convnet-dist can fetch (use http:// or https://)"
        case .badServerResponse, .cannotParseResponse: return "the server's answer is not valid HTTP"
        case .zeroByteResource: return "the server sent an empty file"
        case .resourceUnavailable, .fileDoesNotExist: return "the file is not there"
        case .userAuthenticationRequired, .userCancelledAuthentication: return "the server asks for a login"
        case .cannotDecodeRawData, .cannotDecodeContentData: return "the server's compressed answer cannot be decoded"
        case .dataLengthExceedsMaximum: return "the file is larger than expected"
        case .cannotLoadFromNetwork, .internationalRoamingOff, .callIsActive, .dataNotAllowed: return "no network"
        case .timedOut: return "no answer within \(Int(timeout)) s"
        case .cannotConnectToHost: return "connection refused"
        case .cannotFindHost, .dnsLookupFailed: return "host not found"
        case .notConnectedToInternet: return "no network"
        case .networkConnectionLost: return "the connection dropped"
        case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate: return "TLS failed"
        case .cancelled: return "cancelled"
        default: return "the transfer failed"
        }
    }

    /// The size of the regular file at `path`; nil when there is none. Every reader bounds sizes by the
    /// file's size before allocating: a file is read to be checksummed only when it has the expected
    /// size (a 3 GB file under an MNIST name is not read at all; a FIFO would block the read forever).
    static func existingSize(_ path: String) -> Int? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: (path as NSString).resolvingSymlinksInPath),
              attributes[.type] as? FileAttributeType == .typeRegular else { return nil }
        return (attributes[.size] as? NSNumber)?.intValue
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
