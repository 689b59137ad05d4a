import ConvNetCore
import Training
import XCTest

/// `EvenShare.plan`: every rank computes an even share of each global batch, moving as few samples
/// as possible, in the order `Communicator.exchange` packs them. (That the moved samples train the
/// same bits is checked end to end by `DistributedTests`, on shuffled batches.)
final class EvenShareTests: XCTestCase {
    func testEveryRankGetsAnEvenShareWithTheFewestMoves() {
        var generator = SeededGenerator(seed: 5)
        for ranks in 1...7 {
            for _ in 0..<200 {
                let total = 1 + Int(generator.next() % 300), size = 1 + Int(generator.next() % 70)
                var samples = (0..<Int32(total)).map { $0 }
                samples.shuffle(using: &generator)
                let batch = samples.prefix(min(size, total))
                let (kept, moves) = EvenShare.plan(batch: batch, ranks: ranks)
                var computed: [Int32] = []
                for r in 0..<ranks {
                    let mine = kept[r] + moves.filter { $0.to == r }.map(\.sample)
                    XCTAssertEqual(mine.count, WorkerPool.partition(batch.count, parts: ranks, index: r).count)
                    let held = batch.filter { Int($0) % ranks == r }
                    XCTAssertEqual(kept[r], Array(held.prefix(kept[r].count)), "a rank keeps its first samples, in batch order")
                    let senders = moves.filter { $0.to == r }.map(\.from), receivers = moves.filter { $0.from == r }.map(\.to)
                    XCTAssertEqual(senders, senders.sorted(), "a receiver's samples come in source rank order")
                    XCTAssertEqual(receivers, receivers.sorted(), "a sender's samples go in destination rank order")
                    XCTAssertTrue(receivers.isEmpty || senders.isEmpty, "no rank both sends and receives")
                    computed += mine
                }
                XCTAssertEqual(computed.sorted(), batch.sorted(), "every sample computed exactly once")
                for move in moves { XCTAssertEqual(Int(move.sample) % ranks, move.from, "a sample moves from the rank that holds it") }
                let surplus = (0..<ranks).map { r in
                    max(0, batch.filter { Int($0) % ranks == r }.count - WorkerPool.partition(batch.count, parts: ranks, index: r).count)
                }
                XCTAssertEqual(moves.count, surplus.reduce(0, +), "only surplus samples move")
            }
        }
    }
}
