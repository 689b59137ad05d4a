import ConvNetCore
import Foundation

public enum SystemInfo {
    /// Cores this process may run on (its CPU affinity mask, as `taskset` or mpirun binding set it), at least 1.
    public static func availableCores() -> Int {
        if let mask = statusField("Cpus_allowed:") {
            let count = mask.reduce(0) { $0 + ($1.hexDigitValue ?? 0).nonzeroBitCount }
            if count > 0 { return count }
        }
        return onlineCores()
    }

    /// Cores of this machine.
    public static func onlineCores() -> Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// Peak resident set size of this process in bytes (Linux `VmHWM`), or nil when unknown.
    public static func peakResidentBytes() -> Int? {
        statusField("VmHWM:").flatMap { Int($0.filter(\.isNumber)) }.map { $0 * 1024 }
    }

    /// Seconds since this process started (Linux: `/proc/self/stat` start time against
    /// `/proc/uptime`, 10 ms resolution), or nil when unknown.
    /// When `main` began (`markProgramStart`): a script that `exec`s the binary after installing
    /// and building keeps its process's start time, which would count all that as startup.
    nonisolated(unsafe) private static var programStart: UInt64?

    public static func markProgramStart() { programStart = LayerTimes.now() }

    /// Seconds since `markProgramStart()`, else since the process started.
    public static func secondsSinceProgramStart() -> Double? {
        if let programStart { return Double(LayerTimes.now() - programStart) / 1e9 }
        return secondsSinceProcessStart()
    }

    public static func secondsSinceProcessStart() -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let uptime = try? String(contentsOfFile: "/proc/uptime", encoding: .utf8),
              let afterName = stat.lastIndex(of: ")") else { return nil }
        // Fields after the command name start at field 3; the start time is field 22.
        let fields = stat[stat.index(after: afterName)...].split(separator: " ")
        guard fields.count > 19, let ticks = Double(fields[19]),
              let now = Double(uptime.split(separator: " ").first ?? "") else { return nil }
        return now - ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// The value after `name` on its line of `/proc/self/status`, trimmed.
    static func statusField(_ name: String) -> String? {
        guard let file = fopen("/proc/self/status", "r") else { return nil }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 4096)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(cString: line)
            if text.hasPrefix(name) {
                return String(text.dropFirst(name.count)).trimmingCharacters(in: .whitespacesAndNewlines)
            }
        }
        return nil
    }
}
