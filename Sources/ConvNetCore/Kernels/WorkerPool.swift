import Foundation

/// A persistent pool of `size` threads that runs one task per thread index and waits for all of them.
///
/// The caller's thread runs index 0, so a pool of size 1 has no threads and no synchronisation.
/// Work is assigned by index, never by which thread is free first, so results do not depend on timing.
public final class WorkerPool: @unchecked Sendable {
    public let size: Int

    private let condition = NSCondition()
    private var task: ((Int) -> Void)?
    private var generation = 0
    private var unfinished = 0
    private var shuttingDown = false
    private var threads: [Thread] = []

    public init(size: Int) {
        precondition(size >= 1, "a worker pool needs at least one thread")
        self.size = size
        for index in 1..<size {
            let thread = Thread { [unowned self] in self.workerLoop(index: index) }
            thread.stackSize = 8 << 20
            thread.name = "convnet-worker-\(index)"
            threads.append(thread)
            thread.start()
        }
    }

    deinit {
        condition.lock()
        shuttingDown = true
        condition.broadcast()
        condition.unlock()
    }

    /// Runs `body(index)` for every index in `0..<size`, concurrently, and returns when all are done.
    public func run(_ body: (Int) -> Void) {
        if size == 1 { body(0); return }
        withoutActuallyEscaping(body) { body in
            condition.lock()
            task = body
            unfinished = size - 1
            generation += 1
            condition.broadcast()
            condition.unlock()

            body(0)

            condition.lock()
            while unfinished > 0 { condition.wait() }
            task = nil
            condition.unlock()
        }
    }

    /// Splits `0..<total` into `size` contiguous, near-equal ranges; range `i` goes to index `i`.
    public static func partition(_ total: Int, parts: Int, index: Int) -> Range<Int> {
        (total * index / parts)..<(total * (index + 1) / parts)
    }

    private func workerLoop(index: Int) {
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
