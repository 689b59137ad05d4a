/// Loss, accuracy and sample count summed over some samples.
public struct BatchStatistics: Equatable, Sendable {
    public var lossSum: Double = 0
    public var correct: Int = 0
    public var count: Int = 0

    public init(lossSum: Double = 0, correct: Int = 0, count: Int = 0) {
        self.lossSum = lossSum
        self.correct = correct
        self.count = count
    }

    public var meanLoss: Double { count > 0 ? lossSum / Double(count) : .nan }
    public var accuracy: Double { count > 0 ? Double(correct) / Double(count) : .nan }

    public static func + (a: BatchStatistics, b: BatchStatistics) -> BatchStatistics {
        BatchStatistics(lossSum: a.lossSum + b.lossSum, correct: a.correct + b.correct, count: a.count + b.count)
    }
}

/// Writes samples `range` of the current batch: `range.count` images (NHWC floats), labels, and
/// each sample's index in its data set (its identity for dropout masks). Called concurrently from
/// worker threads, each with its own disjoint range and buffers.
public typealias BatchFiller = (_ range: Range<Int>, _ images: UnsafeMutablePointer<Float>,
                                _ labels: UnsafeMutablePointer<Int32>, _ sampleIDs: UnsafeMutablePointer<Int64>) -> Void

/// Sums `count` Doubles across every rank in place (the trainer passes its communicator's allreduce;
/// one process passes nothing). The numeric core needs it for batch normalisation's global statistics.
public typealias StatisticsReducer = (_ values: UnsafeMutablePointer<Double>, _ count: Int) -> Void
