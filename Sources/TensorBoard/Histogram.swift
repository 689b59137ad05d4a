extension Tensorflow_HistogramProto {
    /// Equal-width buckets between the values' minimum and maximum (30 of them, tf.summary.histogram's
    /// default), with count, sum and sum of squares; non-finite values are left out. No values, or
    /// all equal: one bucket.
    init(_ values: UnsafeBufferPointer<Float>, buckets: Int = 30) {
        self.init()
        var low = Double.infinity, high = -Double.infinity, count = 0.0, sum = 0.0, squares = 0.0
        for value in values where value.isFinite {
            let v = Double(value)
            low = Swift.min(low, v)
            high = Swift.max(high, v)
            count += 1
            sum += v
            squares += v * v
        }
        guard count > 0 else { return }
        (min, max, num, self.sum, sumSquares) = (low, high, count, sum, squares)
        guard high > low else {
            (bucketLimit, bucket) = ([high], [count])
            return
        }
        let width = (high - low) / Double(buckets)
        var counts = [Double](repeating: 0, count: buckets)
        for value in values where value.isFinite {
            counts[Swift.min(buckets - 1, Int((Double(value) - low) / width))] += 1
        }
        bucketLimit = (1...buckets).map { $0 == buckets ? high : low + Double($0) * width }
        bucket = counts
    }
}
