/// The communicator for this process: MPI when an MPI launcher started it, otherwise a
/// one-process job that never touches MPI (the debug mode: plain `convnet-dist train`).
public func makeCommunicator() -> any Communicator {
    MPICommunicator.launchedByMPI ? MPICommunicator() : SingleProcessCommunicator()
}
