/// Calls a run makes at fixed points, so that tests can inject faults (a slow file system, a rank
/// that stalls inside a step) into a real job and check that it ends the way the real fault would.
///
/// `Trainer` takes them as an optional value that the user's `convnet-dist` never sets: only the
/// test suite's `convnet-dist-fault-injection` build installs hooks, so no setting of the user's
/// binary can reach them. Both calls run on the training thread and may block.
public protocol TrainingHooks: Sendable {
    /// Before this rank reads its data (after rank 0 has claimed the run folder).
    func beforeLoading()
    /// Inside global step `globalStep` (1-based) on `rank`, after the step watchdog has started
    /// timing the step and before its gradients are exchanged.
    func inStep(globalStep: Int, rank: Int)
}
