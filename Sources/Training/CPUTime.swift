import Foundation

/// CPU time read from the operating system, to tell where a step's cores went: the process's own
/// computing (user) and its system calls (system), and the machine's interrupt work (Linux
/// `/proc/stat`), where the kernel's network stack runs the packets of TCP connections.
public enum CPUTime {
    /// Seconds of CPU this process used so far, in user and in system mode (`getrusage`).
    public static func process() -> (user: Double, system: Double) {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return (seconds(usage.ru_utime), seconds(usage.ru_stime))
    }

    /// Seconds of CPU all cores of the machine spent so far in user mode (nice included), system
    /// mode, interrupts (hard and soft) and idle (iowait included), from `/proc/stat`; nil elsewhere.
    public static func machine() -> Machine? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let line = text.split(separator: "\n").first, line.hasPrefix("cpu ") else { return nil }
        // cpu user nice system idle iowait irq softirq ..., in clock ticks.
        let ticks = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard ticks.count >= 7 else { return nil }
        let perSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
        return Machine(user: (ticks[0] + ticks[1]) / perSecond, system: ticks[2] / perSecond,
                       interrupts: (ticks[5] + ticks[6]) / perSecond, idle: (ticks[3] + ticks[4]) / perSecond)
    }

    /// Seconds of the machine's CPU time by mode, summed over its cores.
    public struct Machine: Sendable {
        public var user, system, interrupts, idle: Double

        /// The time between an earlier reading and this one.
        public func since(_ earlier: Machine) -> Machine {
            Machine(user: user - earlier.user, system: system - earlier.system,
                    interrupts: interrupts - earlier.interrupts, idle: idle - earlier.idle)
        }
    }
}
