import Communication
import Foundation
import TestSupport
import XCTest

/// The Double broadcast carries every bit: values that float32 cannot hold (the callbacks' monitored
/// figures are such values) arrive on every rank of a real MPI job exactly as rank 0 sent them (a
/// wrong datatype or count in the MPI call would lose them).
final class CommunicatorTests: XCTestCase {
    private static let insideMPI = "CONVNET_TEST_INSIDE_MPI"

    /// Rank 0's values: none of them survives a round trip through Float.
    private static let values: [Double] = [1 + 0x1p-40, 0.1, .pi, 1e300, 5e-324, -0.0, Double(bitPattern: 0x7FF8_0000_0000_1234)]

    /// This test bundle's own binary runs `testDoubleBroadcastInsideMPI` on 3 ranks under mpirun.
    func testDoubleBroadcastKeepsEveryBitOnEveryRank() throws {
        XCTAssertTrue(Self.values.dropLast(2).allSatisfy { Double(Float($0)) != $0 }, "the values need more than float32")
        var environment = mpiEnvironment
        environment[Self.insideMPI] = "1"
        let result = try runCommand(mpirunPath(), mpirunArguments(3) + [CommandLine.arguments[0], "EndToEndTests.CommunicatorTests/testDoubleBroadcastInsideMPI"],
                                    environment: environment, timeout: 120)
        XCTAssertEqual(result.status, 0, result.output + result.error)
        XCTAssertEqual(result.output.components(separatedBy: "broadcast intact on rank").count - 1, 3, result.output)

        var alone = Self.values
        alone.withUnsafeMutableBufferPointer { SingleProcessCommunicator().broadcast($0.baseAddress!, count: $0.count, root: 0) }
        XCTAssertEqual(alone.map(\.bitPattern), Self.values.map(\.bitPattern), "one process: the buffer as it was")
    }

    /// Runs only inside the job started above (does nothing in a plain test run).
    func testDoubleBroadcastInsideMPI() throws {
        guard ProcessInfo.processInfo.environment[Self.insideMPI] != nil else { return }
        let communicator = MPICommunicator()
        var received = communicator.isRoot ? Self.values : [Double](repeating: 7, count: Self.values.count)
        received.withUnsafeMutableBufferPointer { communicator.broadcast($0.baseAddress!, count: $0.count, root: 0) }
        XCTAssertEqual(communicator.size, 3)
        XCTAssertEqual(received.map(\.bitPattern), Self.values.map(\.bitPattern), "rank \(communicator.rank)")
        if received.map(\.bitPattern) == Self.values.map(\.bitPattern) { print("broadcast intact on rank \(communicator.rank)") }
        communicator.finish()
    }
}
