import Foundation
import SwiftProtobuf

/// Reading events files back: for tests, and for a resumed run, which keeps only the events up to
/// its checkpoint.
public enum EventFile {
    /// The events of the file at `path`. A record cut short at the end (a process killed while
    /// appending) ends the file; any other damage throws.
    public static func events(atPath path: String) throws -> [Tensorflow_Event] {
        try records(atPath: path).map { try Tensorflow_Event(serializedBytes: $0) }
    }

    /// The events files in `directory`, in name order (the order TensorBoard reads them in).
    public static func paths(in directory: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasPrefix(EventFileWriter.namePrefix) }.sorted()
            .map { (directory as NSString).appendingPathComponent($0) }
    }

    /// Rewrites the file at `path` with only the events for which `keep` is true (unchanged when it
    /// keeps them all); the file is replaced at once, never left half written.
    public static func rewrite(path: String, keep: (Tensorflow_Event) -> Bool) throws {
        let records = try records(atPath: path)
        let kept = try records.filter { keep(try Tensorflow_Event(serializedBytes: $0)) }
        guard kept.count < records.count else { return }
        do { try kept.reduce(into: Data()) { $0.append(TFRecord.frame($1)) }.write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw EventFileError("cannot rewrite \(path)", cause: error)
        }
    }

    private static func records(atPath path: String) throws -> [Data] {
        guard let bytes = FileManager.default.contents(atPath: path) else { throw EventFileError("cannot read \(path)") }
        do { return try TFRecord.records(in: bytes, toleratingTruncatedEnd: true) } catch let error as TFRecordError {
            throw EventFileError("\(path) is not a readable events file: \(error.description)")
        }
    }
}
