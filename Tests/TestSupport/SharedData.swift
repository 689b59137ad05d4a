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
}

/// Runs `executable` with `arguments`, capturing both streams.
public func runCommand(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> CommandResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let output = Pipe(), error = Pipe()
    process.standardOutput = output
    process.standardError = error
    try process.run()
    // Read both pipes to the end before waiting, so a chatty child never blocks on a full pipe.
    final class Box: @unchecked Sendable { var data = Data() }
    let errorData = Box(), done = DispatchSemaphore(value: 0)
    Thread {
        errorData.data = error.fileHandleForReading.readDataToEndOfFile()
        done.signal()
    }.start()
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    done.wait()
    return CommandResult(status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
                         error: String(decoding: errorData.data, as: UTF8.self))
}
