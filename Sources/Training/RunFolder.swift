#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import Foundation

/// A run folder's ownership: whether it already holds a run, whose run that is, starting over,
/// and a lock that keeps two processes out of one folder.
///
/// The rule: check everything before touching anything. `train` claims a folder (`claim`) before
/// it reads any data, refusing one that holds another run, and writes nothing there but the lock;
/// only once the data, the weights, the config and the checkpoint have all been read and checked
/// does the run begin (`begin`): an `--overwrite` then removes the files the old run wrote (listed
/// in its `RunManifest`), and only those, never a file of the user's, inside `checkpoints/` or
/// elsewhere. A folder holds a run when it holds one of `runFiles`. A resume may continue the run
/// of a folder (its identity is in the folder's manifest and in every checkpoint), or start a new
/// folder from any checkpoint.
///
/// The lock is an advisory `flock` on `RUN_DIR/.lock`, held by rank 0 until the process ends (the
/// kernel releases it however the process ends, so a crash never leaves a stale lock); a `.lock`
/// that is a symbolic link or not a regular file is refused, never followed.
public final class RunFolder {
    /// The files a run writes into its folder (what runs of builds before the manifest wrote).
    public static let runFiles = ["config.toml", "class_names.txt", "metrics.csv", "steps.csv", "confusion.csv", "curves.svg",
                                  "confusion.svg", "model.safetensors", "checkpoints", "best.safetensors"]

    /// A checkpoint a run resumes from: its path and the identity of the run that wrote it.
    public typealias Resumed = (path: String, runID: String?)

    public let path: String
    private var lockDescriptor: Int32 = -1
    private var resumed: Resumed?
    private var overwrite = false
    /// Found by `claim`: the folder's manifest, and whether the folder holds a run.
    private var manifest: RunManifest?
    private var holdsRun = false

    public init(path: String) { self.path = path }

    deinit { if lockDescriptor >= 0 { close(lockDescriptor) } }

    private func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    /// The run files present in the folder.
    public var existingRunFiles: [String] { RunFolder.runFiles.filter { Self.exists(file($0)) } }

    /// Creates the folder and takes its lock, and refuses a folder that may not take this run: one
    /// that holds a run when a new run starts without `overwrite`, or another run than the
    /// checkpoint's when resuming. Removes nothing (see `begin`).
    public func claim(resuming: Resumed?, overwrite: Bool) throws {
        (resumed, self.overwrite) = (resuming, overwrite)
        // Checked before the lock as well, so that a refused folder is not written to at all.
        if Self.exists(path) { try checkMayTakeTheRun() }
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw TrainingError("cannot create run folder \(path): \(plainDescription(error))")
        }
        try lock()
        try checkMayTakeTheRun()
    }

    /// Once every input is validated: removes the old run's files for `overwrite`, and records the
    /// run (its identity and `files`, the names it will write) in the folder's manifest. Returns
    /// the run's identity, for its checkpoints.
    public func begin(writing files: [String]) throws -> String {
        if resumed == nil && overwrite && holdsRun { try removeOldRun() }
        var next = resumed == nil ? nil : manifest
        if next == nil {
            let continued = resumed != nil && holdsRun ? resumed?.runID : nil
            next = RunManifest(runID: continued ?? RunManifest.newRunID(), files: resumed != nil && holdsRun ? legacyRunFiles() : [])
        }
        next!.add(files)
        try next!.write(folder: path)
        manifest = next
        return next!.runID
    }

    private func checkMayTakeTheRun() throws {
        manifest = try RunManifest.read(folder: path)
        let existing = existingRunFiles
        holdsRun = !existing.isEmpty
        guard holdsRun else { return }
        if let resumed {
            guard isTheFoldersRun(resumed) else {
                let parent = (resumed.path as NSString).deletingLastPathComponent
                let origin = (parent as NSString).lastPathComponent == "checkpoints"
                    ? " (of run folder \((parent as NSString).deletingLastPathComponent))" : ""
                throw TrainingError("run folder \(path) holds another run than the checkpoint \(resumed.path)\(origin); nothing was changed: "
                                    + "continue the folder's own run with --run-dir \(path) --resume, "
                                    + "or resume \(resumed.path) into a new --run-dir")
            }
        } else if !overwrite {
            throw TrainingError("run folder \(path) already holds a run (\(existing.joined(separator: ", "))): "
                                + "continue it with --resume, start over with --overwrite, or pick another --run-dir")
        }
    }

    /// A checkpoint continues the folder's run when both carry the same identity; without both (a
    /// folder or checkpoint of an earlier build), when it is one of the folder's own checkpoints.
    private func isTheFoldersRun(_ checkpoint: Resumed) -> Bool {
        if let id = checkpoint.runID, let folderID = manifest?.runID { return id == folderID }
        guard let real = Self.realPath(checkpoint.path), let checkpoints = Self.realPath(file("checkpoints")) else { return false }
        return real.hasPrefix(checkpoints + "/")
    }

    /// The run files of a folder without a manifest, relative to it: the top-level `runFiles` and
    /// the checkpoints and `latest` in `checkpoints/`.
    private func legacyRunFiles() -> [String] {
        let checkpoints = (try? FileManager.default.contentsOfDirectory(atPath: file("checkpoints"))) ?? []
        return existingRunFiles.filter { $0 != "checkpoints" }
            + checkpoints.filter { $0 == "latest" || ($0.hasPrefix("step-") && $0.hasSuffix(".safetensors")) }.sorted().map { "checkpoints/" + $0 }
    }

    /// Removes what the old run wrote (its manifest's files; for a folder of an earlier build, its
    /// `legacyRunFiles`), the checkpoints' temporary files and `latest`, and `checkpoints/` when
    /// nothing of the user's is left in it. Only files and links are removed, never followed.
    private func removeOldRun() throws {
        let checkpoints = file("checkpoints")
        let temporaries = ((try? FileManager.default.contentsOfDirectory(atPath: checkpoints)) ?? [])
            .filter { $0.hasPrefix(".") && $0.contains(".tmp-") }.map { "checkpoints/" + $0 }
        var folders: Set<String> = ["checkpoints"]
        for name in (manifest?.files ?? legacyRunFiles()) + ["checkpoints/latest"] + temporaries + [RunManifest.fileName] {
            var info = stat()
            guard inRealFolders(name), lstat(file(name), &info) == 0, info.st_mode & S_IFMT != S_IFDIR else { continue }
            guard unlink(file(name)) == 0 || errno == ENOENT else {
                throw TrainingError("--overwrite cannot remove \(file(name)): \(String(cString: strerror(errno)))")
            }
            var folder = (name as NSString).deletingLastPathComponent
            while !folder.isEmpty { folders.insert(folder); folder = (folder as NSString).deletingLastPathComponent }
        }
        // Deepest first; rmdir fails, keeping the folder, when it holds files of the user's.
        for folder in folders.sorted(by: { $0.count > $1.count }) { rmdir(file(folder)) }
        manifest = nil
    }

    /// Whether every folder on the way from the run folder to `name` is a real folder, not a link
    /// (a manifest's `epochs/w-01.safetensors` whose `epochs` became a link stays where it points).
    private func inRealFolders(_ name: String) -> Bool {
        var folder = (name as NSString).deletingLastPathComponent
        while !folder.isEmpty {
            var info = stat()
            guard lstat(file(folder), &info) == 0, info.st_mode & S_IFMT == S_IFDIR else { return false }
            folder = (folder as NSString).deletingLastPathComponent
        }
        return true
    }

    /// Takes `RUN_DIR/.lock` or throws naming the process that holds it.
    private func lock() throws {
        let lockPath = file(".lock")
        var info = stat()
        if lstat(lockPath, &info) == 0 && info.st_mode & S_IFMT != S_IFREG { throw Self.notALockFile(lockPath, info) }
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0o644)
        guard descriptor >= 0 else {
            if errno == ELOOP { throw Self.notALockFile(lockPath, info) }
            throw TrainingError("cannot open \(lockPath): \(String(cString: strerror(errno)))")
        }
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            close(descriptor)
            throw Self.notALockFile(lockPath, info)
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            var bytes = [UInt8](repeating: 0, count: 32)
            let count = pread(descriptor, &bytes, bytes.count, 0)
            let holder = String(decoding: bytes.prefix(max(0, count)), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            close(descriptor)
            throw TrainingError("run folder \(path) is in use by another convnet-dist process\(holder.isEmpty ? "" : " (pid \(holder))")")
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(descriptor, 0)
        _ = pid.withCString { pwrite(descriptor, $0, strlen($0), 0) }
        lockDescriptor = descriptor
    }

    private static func notALockFile(_ lockPath: String, _ info: stat) -> TrainingError {
        let what = info.st_mode & S_IFMT == S_IFLNK ? "a symbolic link" : "not a regular file"
        return TrainingError("\(lockPath) is \(what); convnet-dist keeps its lock file there and never follows or replaces it: "
                             + "remove it, or pick another --run-dir")
    }

    /// Whether anything (a dangling link included) is at `path`.
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
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
    /// (empty fields for columns the header gained), or rewritten by `reshape`; without, it starts anew.
    public init(runDirectory: String, name: String, header: String, keep: ((String) -> Bool)? = nil, padding: String = "",
                reshape: ((String) -> String)? = nil) throws {
        path = (runDirectory as NSString).appendingPathComponent(name)
        self.header = header
        var text = header + "\n"
        if let keep, let existing = try? String(contentsOfFile: path, encoding: .utf8) {
            let rows = existing.split(separator: "\n").dropFirst().map(String.init).filter(keep)
            text += rows.map { (reshape?($0) ?? $0 + padding) + "\n" }.joined()
        }
        do { try text.write(toFile: path, atomically: true, encoding: .utf8) } catch {
            throw TrainingError("cannot write \(path): \(plainDescription(error))")
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
            throw TrainingError("cannot append to \(path): \(plainReason(error))")
        }
    }

    /// The first comma-separated field of a row as an integer (the step or epoch it records).
    public static func leadingInteger(_ row: String) -> Int? { row.split(separator: ",").first.flatMap { Int($0) } }
}
