import Communication
import ConvNetCore
import ConvNetData

/// This rank's samples of one global batch, an even share of it.
///
/// Each rank holds only its shard (file sample `s` lives on rank `s % ranks`), and a shuffled
/// global batch holds a binomial number of each shard's samples: for 2 ranks and batch 64, 32 +- 4.
/// The rank with the most would set the pace while the others wait in the allreduce. So a rank holding more than its even share (`WorkerPool.partition` of the batch) sends
/// the bytes of its last extra samples to ranks holding fewer, in one exchange, and every rank then
/// computes its even share. The moves follow from the batch alone, so every rank plans the same
/// moves without asking. The global batch, and with it the training, stays the same; only the
/// grouping of the per-sample gradients in the Double sums changes, which the Float mean does not
/// see (the rank-count tests compare the final weights' bits).
public final class EvenShare {
    /// A sample computed by another rank than the one whose shard holds it.
    public struct Move: Equatable, Sendable {
        public let sample: Int32
        public let from: Int
        public let to: Int
    }

    private let data: LabelledImages
    private let communicator: any Communicator
    /// A moved sample's bytes: its pixels, then its label.
    private let recordSize: Int
    private let outgoing: UnsafeMutableRawBufferPointer
    private let incoming: UnsafeMutableRawBufferPointer
    /// Shard-local indices of the samples this rank computes from its own shard, in batch order.
    private var kept: [Int32] = []
    /// Global indices of the samples it receives, in the order their bytes arrive.
    private var received: [Int64] = []

    /// Samples in this rank's share of the last batch taken.
    public var count: Int { kept.count + received.count }

    /// `data` is this rank's shard; `maxBatch` the largest global batch `take` will see.
    public init(data: LabelledImages, communicator: any Communicator, maxBatch: Int) {
        precondition(data.shard.count == communicator.size, "the data must be sharded over the job's ranks")
        self.data = data
        self.communicator = communicator
        recordSize = data.sampleSize + 1
        outgoing = .allocate(byteCount: max(1, maxBatch * recordSize), alignment: 16)
        incoming = .allocate(byteCount: max(1, maxBatch * recordSize), alignment: 16)
        kept.reserveCapacity(maxBatch)
        received.reserveCapacity(maxBatch)
    }

    deinit {
        outgoing.deallocate()
        incoming.deallocate()
    }

    /// Which samples of `batch` (global indices) each of `ranks` ranks computes from its own shard
    /// (`kept[r]`, in batch order), and which move: surplus samples (each rank's last ones beyond its
    /// even share), taken rank by rank, fill the short ranks' places rank by rank. So each sender's
    /// moves go to ascending ranks and each receiver's come from ascending ranks, the order in
    /// which `Communicator.exchange` packs them. Rank `r` computes `kept[r]`, then what it receives.
    public static func plan(batch: ArraySlice<Int32>, ranks: Int) -> (kept: [[Int32]], moves: [Move]) {
        var held = [[Int32]](repeating: [], count: ranks)
        for sample in batch { held[Int(sample) % ranks].append(sample) }
        let even = (0..<ranks).map { WorkerPool.partition(batch.count, parts: ranks, index: $0).count }
        var surplus: [(sample: Int32, from: Int)] = []
        for r in 0..<ranks where held[r].count > even[r] {
            surplus += held[r][even[r]...].map { ($0, r) }
            held[r].removeLast(held[r].count - even[r])
        }
        var moves: [Move] = []
        for r in 0..<ranks where held[r].count < even[r] {
            for _ in held[r].count..<even[r] {
                let next = surplus[moves.count]
                moves.append(Move(sample: next.sample, from: next.from, to: r))
            }
        }
        return (held, moves)
    }

    /// Plans this rank's share of `batch` (global sample indices) and exchanges the moved samples'
    /// bytes with the other ranks (every rank calls it for the same batch; no exchange when nothing moves).
    public func take(_ batch: ArraySlice<Int32>) {
        let ranks = communicator.size, rank = communicator.rank, size = data.sampleSize, shard = data.shard
        let plan = Self.plan(batch: batch, ranks: ranks)
        kept.removeAll(keepingCapacity: true)
        kept += plan.kept[rank].map { Int32(shard.localIndex(of: Int($0))) }
        received.removeAll(keepingCapacity: true)
        guard !plan.moves.isEmpty else { return }
        var sendCounts = [Int](repeating: 0, count: ranks), receiveCounts = sendCounts
        var packed = 0
        data.pixels.withUnsafeBytes { pixels in
            for move in plan.moves where move.from == rank {
                let local = shard.localIndex(of: Int(move.sample))
                let record = outgoing.baseAddress! + packed * recordSize
                record.copyMemory(from: pixels.baseAddress! + local * size, byteCount: size)
                record.storeBytes(of: data.labels[local], toByteOffset: size, as: UInt8.self)
                sendCounts[move.to] += recordSize
                packed += 1
            }
        }
        for move in plan.moves where move.to == rank {
            received.append(Int64(move.sample))
            receiveCounts[move.from] += recordSize
        }
        communicator.exchange(send: outgoing.baseAddress!, sendCounts: sendCounts,
                              receive: incoming.baseAddress!, receiveCounts: receiveCounts)
    }

    /// Fills batch positions with this rank's share of the last batch taken: its kept samples, then
    /// the received ones, as `LabelledImages.write` would (floats `x / 255`, label, global index).
    public var filler: BatchFiller {
        { [data, kept, received, incoming, recordSize] range, images, labels, sampleIDs in
            let size = data.sampleSize
            for (slot, position) in range.enumerated() {
                let target = images + slot * size
                if position < kept.count {
                    let sample = Int(kept[position])
                    labels[slot] = data.write(sample: sample, to: target)
                    sampleIDs[slot] = Int64(data.shard.globalIndex(of: sample))
                } else {
                    let k = position - kept.count
                    let record = (incoming.baseAddress! + k * recordSize).assumingMemoryBound(to: UInt8.self)
                    LabelledImages.writeUnitFloats(record, count: size, to: target)
                    labels[slot] = Int32(record[size])
                    sampleIDs[slot] = received[k]
                }
            }
        }
    }
}
