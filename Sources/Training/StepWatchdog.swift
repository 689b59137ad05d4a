import Communication
import Foundation
import Synchronization

/// Ends the whole job when one training step runs far longer than healthy steps do. A peer that
/// stalled (stopped, swapping, or cut off by a dead link that Open MPI has not noticed) otherwise
/// leaves every other rank waiting in the allreduce forever, at full CPU, with no message.
///
/// The limit is `timeout` when given, else the larger of 60 s and 50 times the median of the last
/// 99 steps. It covers a step as this rank sees it, waits for peers included: the first step of an
/// epoch also waits for rank 0's test-set evaluation and checkpoint, which the default leaves room for.
/// On expiry it prints the step, the time and the last checkpoint, and aborts the job with
/// `exitStatus`, from its own thread, because the training thread is the one that is stuck.
public final class StepWatchdog: Sendable {
    /// EX_TEMPFAIL: the job did not fail on its own account, so a restart (launch/elastic) may finish it.
    public static let exitStatus: Int32 = 75
    public static let defaultMinimum = 60.0
    public static let medianMultiple = 50.0
    /// The largest `--step-timeout`: a week.
    public static let maximumTimeout = 604_800.0

    private struct State {
        var armedAt: ContinuousClock.Instant?
        var globalStep = 0
        var recentSteps: [Double] = []
        var nextSlot = 0
        var stopped = false
        var toldAboutStopRequest = false
    }

    private let state = Mutex(State())
    private let timeout: Double?
    private let communicator: any Communicator
    private let lastCheckpoint: @Sendable () -> String?

    /// `timeout` nil: the default rule; `lastCheckpoint` names the newest checkpoint when asked.
    public init(timeout: Double?, communicator: any Communicator, lastCheckpoint: @escaping @Sendable () -> String?) {
        self.timeout = timeout
        self.communicator = communicator
        self.lastCheckpoint = lastCheckpoint
        // The thread holds the watchdog weakly, so dropping it (or `stop()`) ends the thread.
        let thread = Thread { [weak self] in
            while true {
                Thread.sleep(forTimeInterval: 0.25)
                guard let self, self.check() else { return }
            }
        }
        thread.name = "step watchdog"
        thread.start()
    }

    /// Aborts the job if the current step is over its limit; false once stopped.
    private func check() -> Bool {
        typealias Late = (step: Int, seconds: Double, limit: Double)
        let (stopped, expired, stopRequestWaits) = state.withLock { state -> (Bool, Late?, Late?) in
            guard !state.stopped, let armedAt = state.armedAt else { return (state.stopped, nil, nil) }
            let seconds = armedAt.secondsAgo
            let limit = StepWatchdog.limit(timeout: timeout, recentSteps: state.recentSteps)
            let late = (state.globalStep, seconds, limit)
            // A stop request that cannot be honoured because the step waits: most often mpirun
            // ending the job after it lost a host, with SIGKILL close behind. Say where the run is.
            let waits = StopRequest.requested && seconds > 1 && !state.toldAboutStopRequest
            if waits { state.toldAboutStopRequest = true }
            return (false, seconds > limit ? late : nil, waits ? late : nil)
        }
        let rank = communicator.size > 1 ? " (rank \(communicator.rank))" : ""
        let checkpoint = { self.lastCheckpoint().map { "the last checkpoint is \($0)" } ?? "there is no checkpoint yet" }
        if let waits = stopRequestWaits {
            let message = String(format: "convnet-dist: warning%@: told to stop while global step %d has not finished after %.1f s "
                                 + "(waiting for a rank or a link that is gone?); %@.\n", rank, waits.step, waits.seconds, checkpoint())
            FileHandle.standardError.write(Data(message.utf8))
        }
        guard let expired else { return !stopped }
        let message = String(format: "convnet-dist: error%@: global step %d has not finished after %.1f s (limit %.1f s, --step-timeout): "
                             + "a rank stalled, died or lost its link; %@. Ending the job (exit status %d).\n",
                             rank, expired.step, expired.seconds, expired.limit, checkpoint(), StepWatchdog.exitStatus)
        FileHandle.standardError.write(Data(message.utf8))
        communicator.abort(code: StepWatchdog.exitStatus)
    }

    deinit { stop() }

    /// Starts the clock for global step `globalStep` (1-based).
    public func stepStarted(globalStep: Int) {
        state.withLock {
            $0.armedAt = .now
            $0.globalStep = globalStep
        }
    }

    /// Stops the clock and remembers how long the step took.
    public func stepFinished() {
        state.withLock { state in
            guard let armedAt = state.armedAt else { return }
            let seconds = armedAt.secondsAgo
            if state.recentSteps.count < 99 { state.recentSteps.append(seconds) } else { state.recentSteps[state.nextSlot] = seconds }
            state.nextSlot = (state.nextSlot + 1) % 99
            state.armedAt = nil
        }
    }

    /// Ends the watchdog's thread (within a quarter of a second).
    public func stop() { state.withLock { $0.stopped = true } }

    /// The limit in seconds for the next step.
    public static func limit(timeout: Double?, recentSteps: [Double]) -> Double {
        if let timeout { return timeout }
        guard !recentSteps.isEmpty else { return defaultMinimum }
        let median = recentSteps.sorted()[recentSteps.count / 2]
        return max(defaultMinimum, medianMultiple * median)
    }
}

extension ContinuousClock.Instant {
    /// Seconds from this instant to now.
    var secondsAgo: Double {
        let elapsed = ContinuousClock.now - self
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }
}
