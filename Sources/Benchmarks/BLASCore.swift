import ConvNetCore
import Foundation

/// `bench` measures the machine's peak with OpenBLAS's SGEMM, so OpenBLAS must use the kernel the
/// CPU deserves. A DYNAMIC_ARCH build older than the CPU does not recognise it and falls back to
/// its generic x86-64 kernel, a fraction of the CPU's speed (figures: docs/performance-history.md). OpenBLAS chooses once,
/// when it is loaded, from `OPENBLAS_CORETYPE`; so the benchmark restarts itself with that set.
public enum BLASCore {
    /// Kernels OpenBLAS falls back to for a CPU it does not know.
    static let fallbacks: Set<String> = ["Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Katmai", "Banias", "Northwood"]

    /// The OpenBLAS core for this CPU's best vector instructions, when OpenBLAS fell back to a
    /// weaker one and nobody chose a core through the environment; nil otherwise.
    public static var betterCore: String? {
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil, fallbacks.contains(Matmul.blasCoreName) else { return nil }
        switch Matmul.bestKernelName {
        case "avx512": return "SkylakeX"
        case "avx2-fma": return "Haswell"
        default: return nil
        }
    }

    /// Replaces the process by itself with `OPENBLAS_CORETYPE=core` (before MPI starts, so a rank
    /// under mpirun simply starts over); returns only if that fails.
    public static func restart(with core: String) {
        setenv("OPENBLAS_CORETYPE", core, 1)
        var arguments = CommandLine.arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", &arguments)
    }
}
