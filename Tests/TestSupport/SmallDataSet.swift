import ConvNetData
import XCTest

/// A small MNIST folder (uncompressed IDX) holding the first `trainCount` training and `testCount`
/// test images of the real MNIST, for end-to-end runs that must be quick.
public func makeSmallMNIST(_ test: XCTestCase, trainCount: Int, testCount: Int) throws -> String {
    let source = IDXFiles(directory: try SharedData.mnistDirectory())
    let directory = try makeTemporaryDirectory(test)
    let train = try source.loadTraining(expectedShape: [28, 28, 1], classes: 10)
    let testSet = try source.loadTest(expectedShape: [28, 28, 1], classes: 10)
    for (prefix, set, count) in [("train", train, trainCount), ("t10k", testSet, testCount)] {
        try IDXWriter.writeSet(directory: directory, prefix: prefix, pixels: Array(set.pixels[0..<(count * 784)]),
                               labels: Array(set.labels[0..<count]))
    }
    return directory
}

/// Runs `convnet-dist` under `mpirun -np ranks` (root-safe, oversubscribing, unbound).
public func runUnderMPI(_ ranks: Int, _ arguments: [String], timeout: Double = 300) throws -> CommandResult {
    try runCommand(mpirunPath(), mpirunArguments(ranks) + [productBinary] + arguments, environment: mpiEnvironment, timeout: timeout)
}

public func mpirunArguments(_ ranks: Int) -> [String] { ["-np", String(ranks), "--oversubscribe", "--bind-to", "none"] }

public var mpiEnvironment: [String: String] {
    var environment = ProcessInfo.processInfo.environment
    environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
    environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
    return environment
}

/// mpirun's path; skips the test locally (fails under CI) when Open MPI is not installed.
public func mpirunPath() throws -> String {
    if let found = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first(where: FileManager.default.isExecutableFile(atPath:)) {
        return found
    }
    if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail("mpirun not found") }
    throw XCTSkip("mpirun not found (apt-get install openmpi-bin)")
}
