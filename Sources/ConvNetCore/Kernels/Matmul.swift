import CBLAS
import CKernels

/// Matrix products. `rowwise` (hand-written, in CKernels) is what the layers use; `gemm` is OpenBLAS's
/// SGEMM, kept as the library reference: `bench` measures the machine's peak with it and the tests
/// compare both against the naive loops in `ReferenceKernels`.
///
///     gemm:    C[m, n] = alpha * op(A)[m, k] * op(B)[k, n] + beta * C[m, n]
///
/// where `op(X)` is `X` or its transpose, and `lda`, `ldb`, `ldc` are the row strides of the
/// matrices as stored. BLAS threading is switched off by `useCallerThreadOnly()`: parallelism comes
/// from `WorkerPool` splitting the batch, which keeps results deterministic.
public enum Matmul {
    public static func gemm(transposeA: Bool = false, transposeB: Bool = false,
                            m: Int, n: Int, k: Int, alpha: Float = 1,
                            _ a: UnsafePointer<Float>, lda: Int,
                            _ b: UnsafePointer<Float>, ldb: Int,
                            beta: Float = 0,
                            _ c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            if beta == 0 { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
            return
        }
        cblas_sgemm(CblasRowMajor,
                    transposeA ? CblasTrans : CblasNoTrans,
                    transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// `C[m, n] = act(init + A[m, k] * B[k, n])` (row-major), where `init` is `bias` broadcast over the
    /// rows when given, else `C` itself when `accumulate`, else 0, and `act` is ReLU when `relu`.
    /// Every row of `C` is computed by the same instruction sequence whatever its position: equal rows
    /// of `A` give bit-equal rows of `C`, and a sample's result does not depend on the other rows in
    /// the call. The forward pass and input gradients use it, so activations, ReLU masks and max-pool
    /// tie-breaks are a function of the sample alone, not of how a batch was split across threads and ranks.
    public static func rowwise(m: Int, n: Int, k: Int, _ a: UnsafePointer<Float>, lda: Int,
                               _ b: UnsafePointer<Float>, ldb: Int,
                               _ c: UnsafeMutablePointer<Float>, ldc: Int,
                               bias: UnsafePointer<Float>? = nil, accumulate: Bool = false, relu: Bool = false) {
        if m == 0 || n == 0 { return }
        ck_rowwise_gemm(Int32(m), Int32(n), Int32(k), a, Int32(lda), b, Int32(ldb), c, Int32(ldc), bias,
                        accumulate ? 1 : 0, relu ? 1 : 0)
    }

    /// Per-sample weight gradients summed in Double: for each sample `s` in order,
    /// `C[m, n] += Double(A_s^T * B_s)`. `at` holds sample 0's `A^T` row-major as `[k, m]` with row
    /// stride `lda`, and sample `s`'s starts `s * sampleStrideA` floats later; likewise `b` (`[k, n]`).
    /// Each product is summed in Float from 0 by the same fused multiply-add chain as `rowwise` on the
    /// materialised transpose, so the sums do not depend on how samples are grouped into calls.
    /// `c` must hold no -0 (sums started at +0 never become -0): with `k == 1` (dense layers), a
    /// sample whose products in a row of `C` are all +-0 (its input is 0 there) skips that row.
    public static func addWeightGradients(samples: Int, m: Int, n: Int, k: Int,
                                          _ at: UnsafePointer<Float>, lda: Int, sampleStrideA: Int,
                                          _ b: UnsafePointer<Float>, ldb: Int, sampleStrideB: Int,
                                          into c: UnsafeMutablePointer<Double>, ldc: Int) {
        if samples == 0 || m == 0 || n == 0 { return }
        ck_weight_gradient(Int32(samples), Int32(m), Int32(n), Int32(k), at, Int32(lda), sampleStrideA,
                           b, Int32(ldb), sampleStrideB, c, Int32(ldc))
    }

    /// Which code path `rowwise` and `addWeightGradients` take: "avx512", "avx2-fma", "neon" or "portable".
    public static var rowwiseKernelName: String { String(cString: ck_rowwise_gemm_path()) }

    /// Makes the kernels take path `name` ("portable", "avx2", "avx512", "neon", or "best"); false, changing
    /// nothing, for an unknown name or a path this CPU lacks. Every path gives the same bits, so this
    /// only changes speed (tests compare the paths; `CONVNET_KERNELS` does the same for a process).
    @discardableResult
    public static func selectKernels(_ name: String) -> Bool { ck_select_kernels(name) != 0 }

    /// `out[columns, rows] = m[rows, columns]^T`.
    public static func transpose(_ m: UnsafePointer<Float>, rows: Int, columns: Int, into out: UnsafeMutablePointer<Float>) {
        ck_transpose(m, Int32(rows), Int32(columns), out)
    }

    /// The best kernel path this CPU runs: "avx512", "avx2-fma", "neon" or "portable".
    public static var bestKernelName: String { String(cString: ck_best_kernels()) }

    /// The kernel OpenBLAS chose for this CPU at load time (e.g. "Haswell", "SkylakeX", "Prescott").
    public static var blasCoreName: String { openblas_get_corename().map { String(cString: $0) } ?? "unknown" }

    /// BLAS's own thread count; used only to measure BLAS's peak (`useCallerThreadOnly` restores 1).
    public static func setBLASThreads(_ count: Int) { openblas_set_num_threads(Int32(count)) }

    /// The BLAS build and the kernel it selected for this CPU, e.g. `OpenBLAS 0.3.21 ... Haswell`.
    public static var blasDescription: String {
        let config = openblas_get_config().map { String(cString: $0) } ?? "unknown BLAS"
        let core = openblas_get_corename().map { String(cString: $0) } ?? "unknown"
        return "\(config.trimmingCharacters(in: .whitespaces)), kernel \(core)"
    }

    /// Makes BLAS compute on the calling thread only. Called once before any worker starts.
    public static func useCallerThreadOnly() {
        openblas_set_num_threads(1)
    }
}
