import Foundation
import XCTest

/// Locates the shared data the heavy tests read: an environment variable names the folder;
/// without it, the `shared/` folder beside the checkout is tried. When neither exists the test is
/// skipped locally but fails under CI (`CI=true`), so CI can never pass by skipping.
public enum SharedData {
    /// The real MNIST IDX files: `$CONVNET_DATA_DIR`, else `../shared/data/mnist`.
    public static func mnistDirectory() throws -> String {
        try locate(variable: "CONVNET_DATA_DIR", sibling: "shared/data/mnist", probe: "train-images-idx3-ubyte.gz")
    }

    /// Keras golden values: `$CONVNET_KERAS_REFERENCE_DIR`, else `../shared/data/keras-reference`.
    public static func kerasReferenceDirectory() throws -> String {
        try locate(variable: "CONVNET_KERAS_REFERENCE_DIR", sibling: "shared/data/keras-reference",
                   probe: "golden.safetensors")
    }

    /// The package root (the folder holding Package.swift).
    public static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    private static func locate(variable: String, sibling: String, probe: String) throws -> String {
        let environment = ProcessInfo.processInfo.environment
        let candidates: [String?] = [environment[variable], packageRoot.deletingLastPathComponent().appendingPathComponent(sibling).path]
        for case let directory? in candidates
        where FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent(probe)) {
            return directory
        }
        let message = "\(probe) not found: set \(variable) or place it in ../\(sibling)"
        if environment["CI"] == "true" {
            XCTFail(message)
            throw XCTSkip(message)
        }
        throw XCTSkip(message)
    }
}

/// Fresh temporary folder removed by the caller's `addTeardownBlock`.
public func makeTemporaryDirectory(_ test: XCTestCase) throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("convnet-dist-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url.path
}

/// `max_i |a_i - b_i|`.
public func maxAbsoluteDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "lengths differ: \(a.count) vs \(b.count)")
    return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

public func maxMagnitude(_ a: [Float]) -> Float { a.reduce(0) { max($0, abs($1)) } }

/// The `convnet-dist` executable built beside the test bundle.
public var productBinary: String {
    URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("convnet-dist").path
}

/// Result of running a command to completion.
public struct CommandResult {
    public let status: Int32
    public let output: String
    public let error: String
    /// Ended by a signal (a crash, or the timeout's kill) rather than by exiting.
    public var crashed = false
}

/// Runs `executable` with `arguments`, capturing both streams. After `timeout` seconds the process
/// gets SIGTERM (mpirun passes it on to its ranks), then SIGKILL, so a hang fails a test instead of CI.
public func runCommand(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                       timeout: Double = 600) throws -> CommandResult {
    let process = try startCommand(executable, arguments, environment: environment)
    return process.finish(timeout: timeout)
}

/// A started command whose output is being collected.
public final class RunningCommand: @unchecked Sendable {
    public let process: Process
    private var outputData = Data(), errorData = Data()
    private let lock = NSLock()
    private let done = DispatchGroup()

    init(process: Process, output: Pipe, error: Pipe) {
        self.process = process
        for (pipe, keyPath) in [(output, \RunningCommand.outputData), (error, \RunningCommand.errorData)] {
            done.enter()
            Thread { [self] in
                // Chunk by chunk, so a test can watch the output of a process that is still running.
                while case let chunk = pipe.fileHandleForReading.availableData, !chunk.isEmpty {
                    lock.withLock { self[keyPath: keyPath].append(chunk) }
                }
                done.leave()
            }.start()
        }
    }

    /// Standard error so far.
    public var errorSoFar: String { lock.withLock { String(decoding: errorData, as: UTF8.self) } }

    /// Waits until standard error contains `text` (true) or `timeout` passes or the process ends (false).
    public func waitForError(containing text: String, timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if errorSoFar.contains(text) { return true }
            if !process.isRunning { return errorSoFar.contains(text) }
            usleep(20_000)
        }
        return false
    }

    /// Waits for exit (enforcing `timeout`) and returns status and output.
    public func finish(timeout: Double) -> CommandResult {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            process.terminate()
            let grace = Date().addingTimeInterval(10)
            while process.isRunning && Date() < grace { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        // A grandchild that outlives the process (an Open MPI daemon on a lost host) may hold the pipes open.
        _ = done.wait(timeout: .now() + 10)
        return lock.withLock {
            CommandResult(status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
                          error: String(decoding: errorData, as: UTF8.self), crashed: process.terminationReason == .uncaughtSignal)
        }
    }
}

public func startCommand(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> RunningCommand {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let output = Pipe(), error = Pipe()
    process.standardOutput = output
    process.standardError = error
    try process.run()
    return RunningCommand(process: process, output: output, error: error)
}
