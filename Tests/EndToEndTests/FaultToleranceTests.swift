import Foundation
import TestSupport
import Training
import XCTest

/// Faults on one machine, switched on through `CONVNET_TEST_FAULT` in `convnet-dist-fault-injection`
/// (the user's `convnet-dist` with test hooks; the user's binary ignores the variable): an interrupt
/// while loading, and a step that stalls on one rank, which the step watchdog turns into the end of
/// the whole job. (Faults across test hosts, link down among them, are in `MultiHostTests`.)
final class FaultToleranceTests: XCTestCase {
    private static let faultVariable = "CONVNET_TEST_FAULT"

    /// The fault-injecting build of `convnet-dist`, beside it.
    private var faultBinary: String { productBinary + "-fault-injection" }

    private func environment(fault: String) -> [String: String] {
        var environment = mpiEnvironment
        environment[Self.faultVariable] = fault
        return environment
    }

    /// Before training starts there is nothing to checkpoint, so the first Ctrl-C ends the process at
    /// once (it used to be taken as "stop after this step" and swallowed until loading finished).
    func testFirstCtrlCWhileLoadingEndsTheProcess() throws {
        let job = try startCommand(faultBinary, ["train", "--data-dir", try SharedData.mnistDirectory(),
                                                   "--run-dir", try makeTemporaryDirectory(self)],
                                   environment: environment(fault: "loading-delay=60"))
        XCTAssertTrue(job.waitForError(containing: "test fault: sleeping", timeout: 30), job.errorSoFar)
        kill(job.process.processIdentifier, SIGINT)
        let interruptedAt = Date()
        let result = job.finish(timeout: 20)
        XCTAssertLessThan(Date().timeIntervalSince(interruptedAt), 5, "Ctrl-C was swallowed")
        XCTAssertTrue(result.crashed && result.status == SIGINT, "ended by status \(result.status), crashed \(result.crashed)")
    }

    /// A single process whose step stalls: the watchdog ends it with its own exit status, naming the
    /// step and the last checkpoint, which then resumes to the end of the run.
    func testStalledStepEndsTheRunAndTheCheckpointResumes() throws {
        let data = try makeSmallMNIST(self, trainCount: 640, testCount: 100)
        let runDirectory = try makeTemporaryDirectory(self)
        let arguments = ["train", "--data-dir", data, "--run-dir", runDirectory, "--epochs", "1", "--threads", "1"]
        let start = Date()
        let result = try runCommand(faultBinary, arguments + ["--checkpoint-every", "4", "--step-timeout", "1"],
                                    environment: environment(fault: "step-delay=6:60"), timeout: 60)
        XCTAssertEqual(result.status, StepWatchdog.exitStatus, result.error)
        XCTAssertLessThan(Date().timeIntervalSince(start), 20)
        XCTAssertTrue(result.error.contains("global step 6 has not finished after"), result.error)
        XCTAssertTrue(result.error.contains("the last checkpoint is \(runDirectory)/checkpoints/step-00000004.safetensors"), result.error)
        let resumed = try runCommand(productBinary, arguments + ["--resume"], timeout: 120)
        XCTAssertEqual(resumed.status, 0, resumed.error)
        XCTAssertTrue(resumed.output.contains("global step 4"), resumed.output)
    }

    /// One rank sleeps inside a step while its peer waits in the allreduce: the peer's watchdog
    /// ends the whole job through MPI_Abort, with the watchdog's status, within the bound.
    func testRankThatSleepsInAStepEndsTheJob() throws {
        let start = Date()
        let result = try runCommand(try mpirunPath(), mpirunArguments(2) + [faultBinary, "train",
                                    "--data-dir", try makeSmallMNIST(self, trainCount: 640, testCount: 100),
                                    "--run-dir", try makeTemporaryDirectory(self), "--threads", "1", "--step-timeout", "2"],
                                    environment: environment(fault: "step-delay=3:120@1"), timeout: 90)
        let seconds = Date().timeIntervalSince(start)
        print("mpirun exited \(result.status) \(seconds) s after start; rank 1 slept in step 3, --step-timeout 2")
        XCTAssertEqual(result.status, StepWatchdog.exitStatus, result.error)
        XCTAssertTrue(result.error.contains("global step 3 has not finished"), result.error)
        XCTAssertLessThan(seconds, 30)
    }

    /// A rank stopped with SIGSTOP (a frozen machine) no longer hangs the job: its peer's watchdog ends it.
    func testStoppedRankEndsTheJob() throws {
        let runDirectory = try makeTemporaryDirectory(self)
        let job = try startCommand(try mpirunPath(), mpirunArguments(2) + [productBinary, "train",
                                   "--data-dir", try SharedData.mnistDirectory(), "--run-dir", runDirectory,
                                   "--checkpoint-every", "20", "--threads", "1", "--step-timeout", "3"],
                                   environment: mpiEnvironment)
        let started = Date()
        while !FileManager.default.fileExists(atPath: runDirectory + "/checkpoints/latest") && Date().timeIntervalSince(started) < 60 {
            usleep(100_000)
        }
        let ranks = try runCommand("/usr/bin/pgrep", ["-f", "^\(productBinary) train .*\(runDirectory)"]).output
            .split(separator: "\n").compactMap { Int32($0) }
        XCTAssertEqual(ranks.count, 2, "rank processes: \(ranks)")
        kill(try XCTUnwrap(ranks.last), SIGSTOP)
        let stoppedAt = Date()
        let result = job.finish(timeout: 60)
        let seconds = Date().timeIntervalSince(stoppedAt)
        print("mpirun exited \(result.status) \(seconds) s after SIGSTOP of one rank (--step-timeout 3)")
        XCTAssertEqual(result.status, StepWatchdog.exitStatus, result.error)
        XCTAssertTrue(result.error.contains("the last checkpoint is \(runDirectory)/checkpoints/step-"), result.error)
        XCTAssertLessThan(seconds, 15)
        usleep(500_000)
        XCTAssertEqual(try runCommand("/usr/bin/pgrep", ["-f", "^\(productBinary) train .*\(runDirectory)"]).output, "", "ranks left behind")
    }

    /// The fault switch is read strictly: a spec it cannot read ends the tool before anything runs.
    func testFaultSwitchIsReadStrictly() throws {
        let good = try runCommand(faultBinary, ["train", "--print-config"],
                                  environment: environment(fault: "loading-delay=2,step-delay=5:1.5@1"))
        XCTAssertEqual(good.status, 0, good.error)
        for bad in ["sleep=3", "step-delay=5", "step-delay=0:1", "loading-delay=-1", "step-delay=5:1@x", "loading-delay=1@0"] {
            let result = try runCommand(faultBinary, ["train", "--print-config"], environment: environment(fault: bad))
            XCTAssertEqual(result.status, 1, bad)
            XCTAssertTrue(result.error.contains("\(Self.faultVariable): cannot read \"\(bad)\""), result.error)
        }
    }

    /// The user's binary cannot reach the test faults: it does not contain the switch's name, and a
    /// fault spec in its environment (here one that would sleep a minute) changes nothing.
    func testUserBinaryIgnoresTestFaults() throws {
        let binary = try Data(contentsOf: URL(fileURLWithPath: productBinary))
        XCTAssertNil(binary.range(of: Data(Self.faultVariable.utf8)), "\(productBinary) names \(Self.faultVariable)")
        let start = Date()
        let result = try runCommand(productBinary, ["train", "--data-dir", try makeSmallMNIST(self, trainCount: 640, testCount: 100),
                                                    "--run-dir", try makeTemporaryDirectory(self), "--epochs", "1", "--threads", "1"],
                                    environment: environment(fault: "loading-delay=60,step-delay=1:60"), timeout: 120)
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertFalse(result.error.contains("test fault"), result.error)
        XCTAssertLessThan(Date().timeIntervalSince(start), 50)
    }

    func testStepTimeoutIsBounded() throws {
        for bad in ["-1", "1e9", "nan"] {
            let result = try runCommand(productBinary, ["train", "--step-timeout", bad])
            XCTAssertEqual(result.status, 64, "\(bad): \(result.error)")
            XCTAssertTrue(result.error.contains("--step-timeout"), result.error)
        }
    }

    /// The default limit: 60 s, or 50 median steps when steps are slow.
    func testDefaultLimitFollowsTheMedianStep() {
        XCTAssertEqual(StepWatchdog.limit(timeout: nil, recentSteps: []), 60)
        XCTAssertEqual(StepWatchdog.limit(timeout: nil, recentSteps: [0.01, 0.02, 5]), 60)
        XCTAssertEqual(StepWatchdog.limit(timeout: nil, recentSteps: [2, 3, 100]), 150)
        XCTAssertEqual(StepWatchdog.limit(timeout: 7, recentSteps: [2, 3, 100]), 7)
    }
}
