import Foundation
import Training
import XCTest

/// `CPUTime`'s readings: a busy loop shows as this process's user time, and the machine's modes
/// add up to about the wall time of all cores.
final class CPUTimeTests: XCTestCase {
    func testBusyLoopCountsAsUserTimeOfTheProcessAndTheMachine() throws {
        let process = CPUTime.process()
        let machine = try XCTUnwrap(CPUTime.machine(), "/proc/stat unreadable")
        let wallStart = Date()
        var x = 1.0
        while Date().timeIntervalSince(wallStart) < 0.3 { for _ in 0..<10_000 { x = x * 1.000001 + 1e-9 } }
        XCTAssertGreaterThan(x, 0)
        let spent = CPUTime.process(), elapsed = try XCTUnwrap(CPUTime.machine()).since(machine)
        XCTAssertGreaterThan(spent.user - process.user, 0.1, "0.3 s of spinning shows as user time")
        XCTAssertLessThan(spent.system - process.system, spent.user - process.user, "spinning is not system time")
        XCTAssertGreaterThan(elapsed.user, 0.05, "the machine saw at least part of it as user time")
        let total = elapsed.user + elapsed.system + elapsed.interrupts + elapsed.idle
        let cores = Double(ProcessInfo.processInfo.activeProcessorCount), wall = Date().timeIntervalSince(wallStart)
        XCTAssertLessThan(total, wall * cores * 1.5 + 0.1, "no more CPU time than the cores had")
    }
}
