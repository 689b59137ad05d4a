import CMPI
#if canImport(Glibc)
import Glibc
#endif

/// A `Communicator` over Open MPI's `MPI_COMM_WORLD`. Created once per process; `finish()` (or
/// `abort`) ends the MPI session.
///
/// Errors in MPI calls are fatal by default (`MPI_ERRORS_ARE_FATAL`), so a dead peer ends the job
/// rather than leaving a rank waiting in a collective.
///
/// `@unchecked Sendable`: its stored properties are constants but `pending`; collectives (and
/// `pending`) are used from the training thread only, and `abort` also from the step watchdog's thread (Open MPI's abort goes
/// through its runtime's own channel, not the communicator the stuck thread is waiting in).
public final class MPICommunicator: Communicator, @unchecked Sendable {
    public let rank: Int
    public let size: Int
    public let localSize: Int
    private let world = cmpi_comm_world()
    /// The sums `startSum` started and `waitForSums` has not yet seen complete.
    private var pending: [MPI_Request?] = []

    public init() {
        OpenMPIDefaults.apply()
        MPI_Init(nil, nil)
        var value: Int32 = 0
        MPI_Comm_rank(world, &value)
        rank = Int(value)
        MPI_Comm_size(world, &value)
        size = Int(value)
        var node: MPI_Comm? = nil
        MPI_Comm_split_type(world, cmpi_comm_type_shared(), 0, cmpi_info_null(), &node)
        MPI_Comm_size(node, &value)
        localSize = Int(value)
        MPI_Comm_free(&node)
    }

    /// True when this process was started by an MPI launcher (mpirun, srun with PMIx), so MPI must
    /// be initialised to meet its peers; a bare start is a one-process job and needs no MPI at all.
    public static var launchedByMPI: Bool {
        let environment = Environment.variables
        return ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"].contains { environment[$0] != nil }
    }

    public func allreduceSum(_ buffer: UnsafeMutablePointer<Double>, count: Int) {
        MPI_Allreduce(cmpi_in_place(), buffer, Int32(count), cmpi_double(), cmpi_sum(), world)
    }

    public func startSum(_ buffer: UnsafeMutableRawPointer, count: Int, of type: SumType) {
        var request: MPI_Request? = nil
        MPI_Iallreduce(cmpi_in_place(), buffer, Int32(count), type == .float64 ? cmpi_double() : cmpi_float(),
                       cmpi_sum(), world, &request)
        pending.append(request)
    }

    public func progressSums() {
        guard !pending.isEmpty else { return }
        var done: Int32 = 0
        MPI_Testall(Int32(pending.count), &pending, &done, cmpi_statuses_ignore())
        if done != 0 { pending.removeAll(keepingCapacity: true) }
    }

    public func waitForSums() {
        guard !pending.isEmpty else { return }
        MPI_Waitall(Int32(pending.count), &pending, cmpi_statuses_ignore())
        pending.removeAll(keepingCapacity: true)
    }

    public func broadcast(_ buffer: UnsafeMutablePointer<Float>, count: Int, root: Int) {
        MPI_Bcast(buffer, Int32(count), cmpi_float(), Int32(root), world)
    }

    public func broadcast(_ buffer: UnsafeMutablePointer<Double>, count: Int, root: Int) {
        MPI_Bcast(buffer, Int32(count), cmpi_double(), Int32(root), world)
    }

    public func exchange(send: UnsafeRawPointer, sendCounts: [Int], receive: UnsafeMutableRawPointer, receiveCounts: [Int]) {
        func offsets(_ counts: [Int32]) -> [Int32] { counts.indices.map { counts[..<$0].reduce(0, +) } }
        let sent = sendCounts.map { Int32($0) }, received = receiveCounts.map { Int32($0) }
        MPI_Alltoallv(send, sent, offsets(sent), cmpi_byte(), receive, received, offsets(received), cmpi_byte(), world)
    }

    public func barrier() { MPI_Barrier(world) }

    public func abort(code: Int32) -> Never {
        fflush(stdout)
        fflush(stderr)
        MPI_Abort(world, code)
        exit(code)
    }

    /// Ends the MPI session after a successful run.
    public func finish() { MPI_Finalize() }
}

/// Minimal environment access without Foundation (this module stays dependency-free).
enum Environment {
    static var variables: [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            pointer += 1
        }
        return result
    }
}
