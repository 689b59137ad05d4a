/// Keras's `validation_split`: the last `fraction` of the training samples in file order, taken
/// before any shuffling, is held out and only evaluated.
public enum ValidationSplit {
    /// Samples `0..<trainingCount` of `total` stay for training; Keras 3's
    /// `train_validation_split`: `split_at = int(math.floor(n * (1.0 - validation_split)))`.
    public static func trainingCount(of total: Int, fraction: Double) -> Int {
        Int((Double(total) * (1.0 - fraction)).rounded(.down))
    }
}

extension LabelledImages {
    /// Splits a shard of the whole file at file sample `trainingCount`.
    ///
    /// The training part is exactly what loading a file of only the first `trainingCount` samples
    /// with the same shard gives (same samples, same `shard`, `totalCount == trainingCount`), so a
    /// run with a split trains as on the truncated file. The validation part is file samples
    /// `trainingCount..<totalCount` seen as a file of their own (local sample `k` is validation
    /// sample `k * shard.count + validation.shard.index`); its shard is this shard's tail, so the
    /// union over every shard holds each validation sample once and no rank reads more data.
    public func split(trainingCount: Int) -> (training: LabelledImages, validation: LabelledImages) {
        precondition(trainingCount >= 0 && trainingCount <= totalCount)
        let kept = shard.size(of: trainingCount), size = sampleSize
        let training = LabelledImages(pixels: Array(pixels[0..<(kept * size)]), labels: Array(labels[0..<kept]),
                                      height: height, width: width, channels: channels,
                                      shard: shard, totalCount: trainingCount)
        // This shard's first validation sample is file sample `kept * count + index`, validation sample `kept * count + index - trainingCount`.
        let validationShard = Shard(index: (kept * shard.count + shard.index - trainingCount) % shard.count, count: shard.count)
        let validation = LabelledImages(pixels: Array(pixels[(kept * size)...]), labels: Array(labels[kept...]),
                                        height: height, width: width, channels: channels,
                                        shard: validationShard, totalCount: totalCount - trainingCount)
        return (training, validation)
    }
}
