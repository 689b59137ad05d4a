import Foundation

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
private final class Crew: @unchecked Sendable {
    private let condition = NSCondition()
    private var task: ((Int) -> Void)?
    private var generation = 0
    private var unfinished = 0
    private var shuttingDown = false

    func run(_ body: @escaping (Int) -> Void, workers: Int) {
        condition.lock()
        task = body
        unfinished = workers
        generation += 1
        condition.broadcast()
        condition.unlock()

        body(0)

        condition.lock()
        while unfinished > 0 { condition.wait() }
        task = nil
        condition.unlock()
    }

    func shutDown() {
        condition.lock()
        shuttingDown = true
        condition.broadcast()
        condition.unlock()
    }

    func workerLoop(index: Int) {
        var seen = 0
        while true {
            condition.lock()
            while generation == seen && !shuttingDown { condition.wait() }
            if shuttingDown { condition.unlock(); return }
            seen = generation
            var body = task
            condition.unlock()

            body!(index)
            body = nil   // release before reporting done: `run` checks that nothing kept the closure

            condition.lock()
            unfinished -= 1
            if unfinished == 0 { condition.broadcast() }
            condition.unlock()
        }
    }
}
