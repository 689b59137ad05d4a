#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM or SIGINT (what Slurm and Ctrl-C send), or SIGUSR1 (which mpirun forwards to every rank
/// without ending the job), asks the run to stop at the next step boundary and checkpoint; a second
/// signal ends the process at once.
public enum StopRequest {
    nonisolated(unsafe) private static var signals: sig_atomic_t = 0

    public static func install() {
        let handler: @convention(c) (Int32) -> Void = { signal in
            StopRequest.signals += 1
            if StopRequest.signals > 1 { _exit(128 + signal) }
        }
        for name in [SIGTERM, SIGINT, SIGUSR1] { signal(name, handler) }
    }

    public static var requested: Bool { signals > 0 }
}
