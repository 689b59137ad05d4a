/// The only door between the trainer and other processes. Every collective is called by every
/// rank in the same order with the same sizes; a rank that fails calls `abort`, which ends the
/// whole job so no peer waits forever. Sendable because the step watchdog calls `abort` from its
/// own thread when the training thread is stuck in a collective.
public protocol Communicator: AnyObject, Sendable {
    /// This process's index in `0..<size`.
    var rank: Int { get }
    /// Number of processes in the job.
    var size: Int { get }
    /// Number of processes of this job on this machine (for the default thread count).
    var localSize: Int { get }

    /// Replaces `buffer[0..<count]` on every rank with the element-wise sum over all ranks.
    /// Double, because the trainer's gradient sums must not depend on the order ranks are added in.
    func allreduceSum(_ buffer: UnsafeMutablePointer<Double>, count: Int)
    /// Starts replacing `buffer[0..<count]` (`type` numbers) on every rank with the element-wise sum
    /// over all ranks, and returns at once (MPI_Iallreduce): the buffer stays untouched until
    /// `waitForSums` returns. Every rank starts the same sums in the same order, and may call other
    /// collectives in between (in the same order too).
    func startSum(_ buffer: UnsafeMutableRawPointer, count: Int, of type: SumType)
    /// Lets the started sums progress (MPI_Testall): MPI moves their data only inside its calls, so
    /// a caller overlapping work with them calls this between pieces of that work.
    func progressSums()
    /// Returns when every started sum is complete.
    func waitForSums()
    /// Copies `buffer[0..<count]` from `root` to every other rank.
    func broadcast(_ buffer: UnsafeMutablePointer<Float>, count: Int, root: Int)
    /// Copies `buffer[0..<count]` from `root` to every other rank, every bit of each Double.
    func broadcast(_ buffer: UnsafeMutablePointer<Double>, count: Int, root: Int)
    /// Sends `sendCounts[r]` bytes to each rank `r` and receives `receiveCounts[r]` bytes from each:
    /// `send` holds the outgoing bytes packed in destination rank order, `receive` gets the incoming
    /// ones packed in source rank order (MPI_Alltoallv). Every rank's counts must mirror its peers'.
    func exchange(send: UnsafeRawPointer, sendCounts: [Int], receive: UnsafeMutableRawPointer, receiveCounts: [Int])
    /// Returns once every rank has called it.
    func barrier()
    /// Ends every process of the job with `code`.
    func abort(code: Int32) -> Never
    /// Ends this process's part in the job after success (every rank calls it).
    func finish()
}

/// The numbers a `startSum` adds: Double (the default for gradients, whose sums then do not depend
/// on the order the ranks are added in) or Float (half the bytes).
public enum SumType: Sendable {
    case float64, float32
    public var byteCount: Int { self == .float64 ? 8 : 4 }
}

extension Communicator {
    public var isRoot: Bool { rank == 0 }
}
