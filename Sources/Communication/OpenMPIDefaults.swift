#if canImport(Glibc)
import Glibc
#endif

/// Open MPI settings for the trainer's traffic, given to `MPI_Init` as the `OMPI_MCA_*` environment
/// variables it reads, each only where the job has not set it (`mpirun --mca NAME VALUE` and
/// `-x OMPI_MCA_NAME` pass theirs the same way, and win):
///
/// - `coll_libnbc_iallreduce_algorithm = 4`, recursive doubling: each pair of ranks swaps its whole
///   buffer, in both directions at once, and adds. Libnbc's own choice for the in-place sums of the
///   gradient buckets is a binomial tree, a reduce to rank 0 then a broadcast back: twice the time
///   on the link, and the second half leaves only once rank 0 is inside MPI again. For 2, 3 or 4
///   ranks it adds the ranks' buffers in the tree's grouping, so the sums are the same; from 5 ranks
///   the grouping differs, which, as any change of rank count, the Float mean does not see.
/// - `btl_tcp_eager_limit = btl_tcp_rndv_eager_limit = 1 MiB`: a bucket (a few hundred KB of
///   Doubles with the default bucket size, unless one layer is larger) is handed to the socket whole in the call that starts it, and the
///   kernel sends it while the backward pass computes. Above the eager limit TCP takes a rendezvous
///   that waits for the peer's go-ahead, which is read only inside a later MPI call.
///
/// They change how the bytes travel, not what is summed: only where the ranks talk over TCP (and,
/// for the first, in any nonblocking sum).
enum OpenMPIDefaults {
    static let settings = [
        ("coll_libnbc_iallreduce_algorithm", "4"),
        ("btl_tcp_eager_limit", "1048576"),
        ("btl_tcp_rndv_eager_limit", "1048576"),
    ]

    /// Sets the variables not yet set; call before `MPI_Init`.
    static func apply() {
        for (name, value) in settings { setenv("OMPI_MCA_" + name, value, 0) }
    }
}
