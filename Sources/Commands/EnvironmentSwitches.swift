import ConvNetCore
import Foundation

/// The environment switches that change how a step runs but not its bits (docs/testing.md lists
/// them): `CONVNET_IM2COL` and `CONVNET_FUSED_PASSES` take 0 or 1, `CONVNET_BUCKET_PARAMETERS` a count
/// of 1 or more; empty is the same as unset. The layers read them where they apply and take any other
/// value as the default, so a typo would silently run the default route: the command refuses it
/// before anything runs, on every rank alike. `CONVNET_KERNELS` (the kernels read it themselves) is
/// refused here too when it names a path this CPU cannot run.
enum EnvironmentSwitches {
    static let flags = ["CONVNET_IM2COL", "CONVNET_FUSED_PASSES"]

    /// The one-line error for the first switch of `environment` set to a value it cannot take, or nil.
    static func problem(in environment: [String: String]) -> String? {
        if let kernels = environment["CONVNET_KERNELS"], !Matmul.selectKernels(kernels) {
            return "CONVNET_KERNELS=\(kernels): expected portable, avx2, avx512, neon or best; this CPU runs up to \(Matmul.bestKernelName)"
        }
        for name in flags {
            if let value = environment[name], !["", "0", "1"].contains(value) {
                return "\(name)=\(value): expected 0 or 1; unset it for the default"
            }
        }
        if let value = environment["CONVNET_BUCKET_PARAMETERS"], !value.isEmpty, (Int(value) ?? 0) < 1 {
            return "CONVNET_BUCKET_PARAMETERS=\(value): expected a whole number of parameters, 1 or more; unset it for the default"
        }
        return nil
    }
}
