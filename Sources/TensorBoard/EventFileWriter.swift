#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import Foundation
import SwiftProtobuf

/// One events file being written, named as TensorFlow names them
/// (`DIRECTORY/events.out.tfevents.<unix seconds>.<host>.<pid>.v2`) and starting with the
/// `file_version` event "brain.Event:2". Each value is an event of its own, framed as a TFRecord.
///
/// Values collect in memory and reach the file only at `flush()`, so that logging costs a training
/// step nothing measurable; a flush appends whole records or, when the write fails (a full disk),
/// cuts the file back to where it was and throws.
public final class EventFileWriter {
    public static let fileVersion = "brain.Event:2"
    public static let namePrefix = "events.out.tfevents."

    public let path: String
    private var pending = Data()

    /// Creates `directory` if needed and a new events file in it. TensorBoard reads a folder's files
    /// in name order, so the name's time is kept later than that of every events file already there
    /// (a resumed run's file sorts after the run's earlier ones even within one second).
    public init(directory: String, now: Date = Date()) throws {
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            guard let file = Self.fileInTheWay(of: directory) else { throw EventFileError("cannot create \(directory)", cause: error) }
            throw EventFileError("cannot create \(directory): \(file) is a file, not a folder")
        }
        let seconds = max(Int(now.timeIntervalSince1970), (Self.newestTime(in: directory) ?? -1) + 1)
        path = (directory as NSString).appendingPathComponent("\(Self.namePrefix)\(seconds).\(Self.hostName()).\(getpid()).v2")
        guard FileManager.default.createFile(atPath: path, contents: nil) else { throw EventFileError("cannot create \(path)") }
        var event = Tensorflow_Event()
        event.wallTime = now.timeIntervalSince1970
        event.fileVersion = Self.fileVersion
        append(event)
        try flush()
    }

    /// The deepest existing part of `directory`'s path when it is not a folder (what stops its creation).
    private static func fileInTheWay(of directory: String) -> String? {
        var path = directory, isFolder: ObjCBool = false
        while !path.isEmpty && path != "/" {
            if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) { return isFolder.boolValue ? nil : path }
            path = (path as NSString).deletingLastPathComponent
        }
        return nil
    }

    /// A scalar (TensorBoard's Scalars tab) at `step`.
    public func scalar(_ tag: String, _ value: Double, step: Int) {
        var summaryValue = Tensorflow_Summary.Value()
        summaryValue.tag = tag
        summaryValue.simpleValue = Float(value)
        append(summaryValue, step: step)
    }

    /// The distribution of `values` (TensorBoard's Histograms and Distributions tabs) at `step`.
    public func histogram(_ tag: String, _ values: UnsafeBufferPointer<Float>, step: Int) {
        var summaryValue = Tensorflow_Summary.Value()
        summaryValue.tag = tag
        summaryValue.histo = Tensorflow_HistogramProto(values)
        append(summaryValue, step: step)
    }

    /// Appends the values collected since the last flush to the file.
    public func flush() throws {
        guard !pending.isEmpty else { return }
        guard let handle = FileHandle(forWritingAtPath: path) else { throw EventFileError("cannot write \(path)") }
        defer { try? handle.close() }
        let end = handle.seekToEndOfFile()
        do {
            try handle.write(contentsOf: pending)
        } catch {
            try? handle.truncate(atOffset: end)
            throw EventFileError("cannot append to \(path)", cause: error)
        }
        pending.removeAll(keepingCapacity: true)
    }

    private func append(_ value: Tensorflow_Summary.Value, step: Int) {
        var event = Tensorflow_Event()
        event.wallTime = Date().timeIntervalSince1970
        event.step = Int64(step)
        event.summary.value = [value]
        append(event)
    }

    private func append(_ event: Tensorflow_Event) {
        // Serialising a message whose fields are all set cannot fail.
        pending.append(TFRecord.frame(try! event.serializedData()))
    }

    /// The largest unix time in the names of the events files in `directory`.
    private static func newestTime(in directory: String) -> Int? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { name in
            name.hasPrefix(namePrefix) ? Int(name.dropFirst(namePrefix.count).prefix { $0 != "." }) : nil
        }.max()
    }

    private static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(cString: buffer).filter { $0 != "/" }
        return name.isEmpty ? "localhost" : name
    }
}

public struct EventFileError: Error, CustomStringConvertible {
    /// What failed, naming the file or folder (`cannot create R/tensorboard/train`).
    public let what: String
    /// The file system's error behind it, if any, for the caller to put in plain words.
    public let cause: (any Error)?
    public init(_ what: String, cause: (any Error)? = nil) { (self.what, self.cause) = (what, cause) }
    public var description: String { cause.map { "\(what): \($0)" } ?? what }
}
