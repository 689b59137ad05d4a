import Foundation
import Synchronization

/// A persistent pool of `size` threads that runs one task per thread index and waits for all of them.
///
/// The caller's thread runs index 0, so a pool of size 1 has no threads and no synchronisation.
/// Work is assigned by index, never by which thread is free first, so results do not depend on timing.
/// Waiting threads spin for up to a millisecond before they sleep (`spin(until:)`): training hands
/// out a task every few milliseconds, and waking a sleeping thread costs tens of microseconds.
/// The threads share a `Crew` (the lock, the task and the counters), not the pool: a thread running
/// a method of the pool would keep it alive forever, and its `deinit` (which ends the threads) would
/// never run.
public final class WorkerPool: @unchecked Sendable {
    public let size: Int
    private let crew = Crew()
    private let meeting: MeetingPoint
    /// `all`'s per-index results, allocated once: training calls it every step.
    private let allResults: UnsafeMutableBufferPointer<Bool>

    public init(size: Int) {
        precondition(size >= 1, "a worker pool needs at least one thread")
        self.size = size
        meeting = MeetingPoint(parties: size)
        allResults = .allocate(capacity: size)
        for index in 1..<size {
            let thread = Thread { [crew] in crew.workerLoop(index: index) }
            thread.stackSize = 8 << 20
            thread.name = "convnet-worker-\(index)"
            thread.start()
        }
    }

    deinit {
        crew.shutDown()
        allResults.deallocate()
    }

    /// Runs `body(index)` for every index in `0..<size`, concurrently, and returns when all are done.
    public func run(_ body: (Int) -> Void) {
        if size == 1 { body(0); return }
        withoutActuallyEscaping(body) { body in crew.run(body, workers: size - 1) }
    }

    /// Runs `body(index)` for every index, as `run` does; true when every call returned true.
    public func all(_ body: (Int) -> Bool) -> Bool {
        let results = allResults
        run { results[$0] = body($0) }
        return !results.contains(false)
    }

    /// A meeting point inside one `run`, cheaper than ending it and starting another (a sleeping
    /// thread is slow to wake): `arrive()` says this index has done its part of a
    /// phase, `wait(_:)` returns once every index has arrived there. Every index must arrive at each
    /// phase, in the same order, and wait for a phase before arriving at the next.
    public func arrive() -> MeetingPoint.Phase { size > 1 ? meeting.arrive() : MeetingPoint.Phase(generation: 0) }

    public func wait(_ phase: MeetingPoint.Phase) {
        if size > 1 { meeting.wait(phase) }
    }

    /// `wait(arrive())`: returns once every index has called it.
    public func barrier() { wait(arrive()) }

    /// Splits `0..<total` into `size` contiguous, near-equal ranges; range `i` goes to index `i`.
    public static func partition(_ total: Int, parts: Int, index: Int) -> Range<Int> {
        (total * index / parts)..<(total * (index + 1) / parts)
    }
}

/// The state a pool's threads share.
private final class Crew: @unchecked Sendable {
    private let condition = NSCondition()
    private var task: ((Int) -> Void)?
    /// Tasks posted so far (-1 once shutting down), and workers still running the current one. Both
    /// change under the lock, so waits on `condition` see them consistently, and are atomic, so that
    /// a worker looking for its next task and `run` looking for the workers' end can first spin on
    /// them without the lock (a step's hand-offs come tens of microseconds apart, and a sleeping
    /// thread takes longer than that to wake).
    private let posted = Atomic<Int>(0)
    private let running = Atomic<Int>(0)

    func run(_ body: @escaping (Int) -> Void, workers: Int) {
        condition.lock()
        task = body
        running.store(workers, ordering: .releasing)
        posted.add(1, ordering: .releasing)
        condition.broadcast()
        condition.unlock()

        body(0)

        if !spin(until: { running.load(ordering: .acquiring) == 0 }) {
            condition.lock()
            while running.load(ordering: .acquiring) > 0 { condition.wait() }
            condition.unlock()
        }
        condition.lock()
        task = nil
        condition.unlock()
    }

    func shutDown() {
        condition.lock()
        posted.store(-1, ordering: .releasing)
        condition.broadcast()
        condition.unlock()
    }

    func workerLoop(index: Int) {
        var seen = 0
        while true {
            _ = spin(until: { posted.load(ordering: .acquiring) != seen })
            condition.lock()
            while posted.load(ordering: .acquiring) == seen { condition.wait() }
            seen = posted.load(ordering: .acquiring)
            if seen < 0 { condition.unlock(); return }
            var body = task
            condition.unlock()

            body!(index)
            body = nil   // release before reporting done: `run` checks that nothing kept the closure

            condition.lock()
            if running.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { condition.broadcast() }
            condition.unlock()
        }
    }
}

/// Spins until `done()` or a millisecond has passed, giving the core away between looks after the
/// first 20 µs (for runs with more threads than cores, where spinning would keep the awaited thread
/// off the core). Returns whether `done()` came true.
private func spin(until done: () -> Bool) -> Bool {
    if done() { return true }
    let start = LayerTimes.now()
    while !done() {
        let waited = LayerTimes.now() - start
        if waited > 1_000_000 { return false }
        if waited > 20_000 { sched_yield() }
    }
    return true
}

/// The waits inside one step are the threads' imbalance, tens of microseconds, shorter than waking
/// a sleeping thread: a waiter spins first (see `spin(until:)`) and sleeps only after a millisecond.
public final class MeetingPoint: @unchecked Sendable {
    public struct Phase: Sendable { let generation: Int }
    private let parties: Int
    private let arrived = Atomic<Int>(0)
    private let generation = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    private let condition = NSCondition()

    init(parties: Int) { self.parties = parties }

    func arrive() -> Phase {
        let current = generation.load(ordering: .acquiring)
        if arrived.add(1, ordering: .acquiringAndReleasing).newValue == parties {
            arrived.store(0, ordering: .relaxed)
            // Sequentially consistent with the sleepers' count: a waiter about to sleep either sees
            // the new generation or is seen here and woken.
            generation.store(current + 1, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                condition.lock()
                condition.broadcast()
                condition.unlock()
            }
        }
        return Phase(generation: current)
    }

    func wait(_ phase: Phase) {
        if spin(until: { generation.load(ordering: .acquiring) != phase.generation }) { return }
        condition.lock()
        sleepers.add(1, ordering: .sequentiallyConsistent)
        while generation.load(ordering: .sequentiallyConsistent) == phase.generation { condition.wait() }
        sleepers.subtract(1, ordering: .sequentiallyConsistent)
        condition.unlock()
    }
}
