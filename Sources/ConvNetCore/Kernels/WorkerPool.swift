import Foundation
import Synchronization

/// A persistent pool of `size` threads that runs one task per thread index and waits for all of them.
///
/// The caller's thread runs index 0, so a pool of size 1 has no threads and no synchronisation.
/// Work is assigned by index, never by which thread is free first, so results do not depend on timing.
/// The threads share a `Crew` (the lock, the task and the counters), not the pool: a thread running
/// a method of the pool would keep it alive forever, and its `deinit` (which ends the threads) would
/// never run.
public final class WorkerPool: @unchecked Sendable {
    public let size: Int
    private let crew = Crew()

    public init(size: Int) {
        precondition(size >= 1, "a worker pool needs at least one thread")
        self.size = size
        for index in 1..<size {
            let thread = Thread { [crew] in crew.workerLoop(index: index) }
            thread.stackSize = 8 << 20
            thread.name = "convnet-worker-\(index)"
            thread.start()
        }
    }

    deinit { crew.shutDown() }

    /// Runs `body(index)` for every index in `0..<size`, concurrently, and returns when all are done.
    public func run(_ body: (Int) -> Void) {
        if size == 1 { body(0); return }
        withoutActuallyEscaping(body) { body in crew.run(body, workers: size - 1) }
    }

    /// Splits `0..<total` into `size` contiguous, near-equal ranges; range `i` goes to index `i`.
    public static func partition(_ total: Int, parts: Int, index: Int) -> Range<Int> {
        (total * index / parts)..<(total * (index + 1) / parts)
    }
}

/// The state a pool's threads share.
///
/// Hand-offs spin briefly before they sleep: waking a thread blocked on a condition variable took
/// 55-65 us per `run` on this machine (a KVM guest), about 2.5 % of a training step, which makes
/// two of them; a spinning thread sees the new task in a microsecond or two. The spin is bounded
/// (`spinLimit` polls, tens of microseconds, yielding the core now and then so that oversubscribed
/// ranks still progress), then the thread sleeps on the condition as before.
private final class Crew: @unchecked Sendable {
    static let spinLimit = 1 << 15
    private let condition = NSCondition()
    /// Written under the lock before `generation` moves (release), read after it is seen (acquire).
    private var task: ((Int) -> Void)?
    private let generation = Atomic<Int>(0)
    private let unfinished = Atomic<Int>(0)
    private var shuttingDown = false

    func run(_ body: @escaping (Int) -> Void, workers: Int) {
        condition.lock()
        task = body
        unfinished.store(workers, ordering: .relaxed)
        generation.add(1, ordering: .releasing)
        condition.broadcast()
        condition.unlock()

        body(0)

        Crew.spin { unfinished.load(ordering: .acquiring) == 0 }
        condition.lock()
        while unfinished.load(ordering: .acquiring) > 0 { condition.wait() }
        task = nil
        condition.unlock()
    }

    func shutDown() {
        condition.lock()
        shuttingDown = true
        generation.add(1, ordering: .releasing)
        condition.broadcast()
        condition.unlock()
    }

    func workerLoop(index: Int) {
        var seen = 0
        while true {
            Crew.spin { generation.load(ordering: .acquiring) != seen }
            condition.lock()
            while generation.load(ordering: .acquiring) == seen { condition.wait() }
            if shuttingDown { condition.unlock(); return }
            seen = generation.load(ordering: .acquiring)
            var body = task
            condition.unlock()

            body!(index)
            body = nil   // release before reporting done: `run` checks that nothing kept the closure

            // The last one wakes `run` if it stopped spinning (a broadcast nobody waits for is cheap).
            if unfinished.subtract(1, ordering: .releasing).newValue == 0 {
                condition.lock()
                condition.broadcast()
                condition.unlock()
            }
        }
    }

    /// Polls `done` up to `spinLimit` times, yielding the core every 64 polls.
    @inline(__always)
    private static func spin(until done: () -> Bool) {
        var polls = 0
        while !done() && polls < spinLimit {
            polls += 1
            if polls & 63 == 0 { sched_yield() }
        }
    }
}
