#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import Foundation

/// A run folder's ownership: whether it already holds a run, starting over, and a lock that keeps
/// two processes out of one folder.
///
/// `train` writes a run into a folder only when the folder is new or empty of runs, when it
/// continues that run (`--resume`), or when told to start over (`--overwrite`, which removes the
/// old run's files, and only those). The lock is an advisory `flock` on `RUN_DIR/.lock`, held by
/// rank 0 until the process ends (the kernel releases it however the process ends, so a crash never
/// leaves a stale lock).
public final class RunFolder {
    /// What a run writes into its folder; `--overwrite` removes exactly these.
    public static let runFiles = ["config.toml", "metrics.csv", "steps.csv", "confusion.csv", "curves.svg",
                                  "confusion.svg", "model.safetensors", "checkpoints", "tensorboard"]

    public let path: String
    private var lockDescriptor: Int32 = -1

    public init(path: String) { self.path = path }

    deinit { if lockDescriptor >= 0 { close(lockDescriptor) } }

    private func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    /// The run files present in the folder.
    public var existingRunFiles: [String] {
        RunFolder.runFiles.filter { FileManager.default.fileExists(atPath: file($0)) }
    }

    /// Creates the folder and takes its lock; then, for a new run, refuses a folder that holds one
    /// (or removes it, with `overwrite`).
    public func claim(resuming: Bool, overwrite: Bool) throws {
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw TrainingError("cannot create run folder \(path): \(error.localizedDescription)")
        }
        try lock()
        guard !resuming else { return }
        let existing = existingRunFiles
        guard !existing.isEmpty else { return }
        guard overwrite else {
            throw TrainingError("run folder \(path) already holds a run (\(existing.joined(separator: ", "))): "
                                + "continue it with --resume, start over with --overwrite, or pick another --run-dir")
        }
        for name in existing {
            do { try FileManager.default.removeItem(atPath: file(name)) } catch {
                throw TrainingError("--overwrite cannot remove \(file(name)): \(error.localizedDescription)")
            }
        }
    }

    /// Takes `RUN_DIR/.lock` or throws naming the process that holds it.
    private func lock() throws {
        let lockPath = file(".lock")
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw TrainingError("cannot open \(lockPath): \(String(cString: strerror(errno)))") }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: lockPath, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            close(descriptor)
            throw TrainingError("run folder \(path) is in use by another convnet-dist process\(holder.isEmpty ? "" : " (pid \(holder))")")
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(descriptor, 0)
        _ = pid.withCString { write(descriptor, $0, strlen($0)) }
        lockDescriptor = descriptor
    }
}

/// Appends rows to a CSV file of the run folder: a row reaches the file whole or not at all (a
/// failed write, e.g. on a full disk, is cut back off and reported), and on resume the rows the
/// resumed run will write again are dropped first.
public final class CSVLog {
    public let path: String
    private let header: String

    /// Opens `RUN_DIR/name`, writing `header` when the file is new. With `keep`, an existing file
    /// keeps only the rows for which it returns true (a resumed run), each followed by `padding`
    /// (empty fields for columns the header gained); without, it starts anew.
    public init(runDirectory: String, name: String, header: String, keep: ((String) -> Bool)? = nil, padding: String = "") throws {
        path = (runDirectory as NSString).appendingPathComponent(name)
        self.header = header
        var text = header + "\n"
        if let keep, let existing = try? String(contentsOfFile: path, encoding: .utf8) {
            let rows = existing.split(separator: "\n").dropFirst().map(String.init).filter(keep)
            text += rows.map { $0 + padding + "\n" }.joined()
        }
        do { try text.write(toFile: path, atomically: true, encoding: .utf8) } catch {
            throw TrainingError("cannot write \(path): \(error.localizedDescription)")
        }
    }

    /// Appends one row (without its newline).
    public func append(_ row: String) throws {
        guard let handle = FileHandle(forWritingAtPath: path) else { throw TrainingError("cannot write \(path)") }
        defer { try? handle.close() }
        let end = handle.seekToEndOfFile()
        do {
            try handle.write(contentsOf: Data((row + "\n").utf8))
        } catch {
            try? handle.truncate(atOffset: end)
            throw TrainingError("cannot append to \(path): \((error as NSError).localizedFailureReason ?? error.localizedDescription)")
        }
    }

    /// The first comma-separated field of a row as an integer (the step or epoch it records).
    public static func leadingInteger(_ row: String) -> Int? { row.split(separator: ",").first.flatMap { Int($0) } }
}
