import ConvNetCore
import ConvNetData

/// The order in which one epoch visits the training set, and which samples form each step.
///
/// The order is a permutation of all `totalCount` sample indices that depends only on the seed and
/// the epoch (Fisher-Yates driven by `SeededGenerator(seed, shuffle, epoch)`), or the file order
/// with `shuffle` off. Step `k` is the global batch `order[k * batchSize ..< (k + 1) * batchSize]`
/// (the last one may be shorter, as Keras does). Every rank computes the same permutation, and its
/// even share of each global batch (`EvenShare`), so the sequence of global batches, and hence the
/// training, is the same whatever the number of ranks.
public struct EpochSchedule: Sendable {
    public let order: [Int32]
    public let batchSize: Int

    public init(totalCount: Int, batchSize: Int, seed: UInt64, epoch: Int, shuffle: Bool) {
        var order = (0..<Int32(totalCount)).map { $0 }
        if shuffle {
            var generator = SeededGenerator(seed: seed, stream: Initialization.Stream.shuffle.rawValue, UInt64(epoch))
            for i in stride(from: totalCount - 1, to: 0, by: -1) {
                let j = Int(generator.next() % UInt64(i + 1))
                order.swapAt(i, j)
            }
        }
        self.order = order
        self.batchSize = batchSize
    }

    public var steps: Int { (order.count + batchSize - 1) / batchSize }

    public func globalBatch(step: Int) -> ArraySlice<Int32> {
        order[(step * batchSize)..<min((step + 1) * batchSize, order.count)]
    }
}
