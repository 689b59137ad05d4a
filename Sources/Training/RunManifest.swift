#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import Foundation

/// `RUN_DIR/.convnet-run`: which run a folder holds, and every file that run wrote there, so that
/// `--overwrite` removes exactly those and never a file of the user's.
///
/// Text, one entry a line: `convnet-dist run <id>` first (the run's identity, also stored in each of
/// its checkpoints as `run_id`), then paths relative to the folder (`metrics.csv`,
/// `checkpoints/step-00000010.safetensors`). Checkpoint names are appended as they are written;
/// an entry that would leave the folder (absolute, or with a `..` part) is ignored as damage.
struct RunManifest: Equatable {
    static let fileName = ".convnet-run"
    private static let heading = "convnet-dist run "
    /// A manifest lists a few names per checkpoint written; more than this is not a manifest.
    private static let maximumBytes = 64 << 20

    let runID: String
    /// Relative paths, each once, in the order first recorded.
    private(set) var files: [String]

    init(runID: String, files: [String]) {
        self.runID = runID
        self.files = []
        add(files)
    }

    static func path(in folder: String) -> String { (folder as NSString).appendingPathComponent(fileName) }

    /// A fresh identity for a new run.
    static func newRunID() -> String { UUID().uuidString.lowercased() }

    mutating func add(_ names: [String]) {
        for name in names where !files.contains(name) && Self.staysInside(name) { files.append(name) }
    }

    /// The manifest of `folder`; nil when it has none. A manifest that is not a regular file, too
    /// large or without its heading is an error: the folder's ownership cannot be told.
    static func read(folder: String) throws -> RunManifest? {
        let path = path(in: folder)
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        guard info.st_mode & S_IFMT == S_IFREG, Int(info.st_size) <= maximumBytes,
              let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw TrainingError("\(path) is damaged (convnet-dist records there which run the folder holds): "
                                + "move the folder's files into a new --run-dir, or remove \(path) if the folder holds no run")
        }
        let lines = text.split(separator: "\n").map(String.init)
        guard let first = lines.first, first.hasPrefix(heading), first.count > heading.count else {
            throw TrainingError("\(path) is damaged (no \"\(heading)<id>\" line): remove it if the folder holds no run, or use a new --run-dir")
        }
        return RunManifest(runID: String(first.dropFirst(heading.count)), files: Array(lines.dropFirst()))
    }

    /// Replaces the folder's manifest with this one, atomically.
    func write(folder: String) throws {
        let text = Self.heading + runID + "\n" + files.map { $0 + "\n" }.joined()
        try WeightsFile.writeAtomically(Data(text.utf8), to: Self.path(in: folder))
    }

    /// Adds one entry to the folder's manifest (before the file is written, so that a crash never
    /// leaves a run file unlisted). Never follows a symbolic link.
    static func record(_ name: String, folder: String) throws {
        let path = path(in: folder)
        let descriptor = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else { throw TrainingError("cannot record \(name) in \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        do { try FileHandle(fileDescriptor: descriptor, closeOnDealloc: false).write(contentsOf: Data((name + "\n").utf8)) } catch {
            throw TrainingError("cannot record \(name) in \(path): \(plainDescription(error))")
        }
    }

    private static func staysInside(_ name: String) -> Bool {
        !name.isEmpty && !name.hasPrefix("/") && !name.split(separator: "/").contains("..")
    }
}
