import Communication
import ConvNetCore
import ConvNetData

/// `normalization` layers with `adapt = true` (Keras's `Normalization.adapt` on the training set):
/// each channel's mean and variance of the training images, as the model sees them (`byte / 255`),
/// computed once before the first step of a new run and kept as the layer's state (`mean`,
/// `variance`, `count`), so checkpoints, weight files and exports carry them.
///
/// The sums are of the pixel bytes and their squares, in integers, so they are exact; summed over
/// the ranks as Doubles they stay exact below 2^53 (e.g. 10^6 images of 224x224 per channel), so
/// every rank count computes the same bits:
///
///     n = samples * height * width,  S1 = sum of bytes,  S2 = sum of bytes^2   (per channel)
///     mean = S1 / n / 255,   variance = (S2 / n - (S1 / n)^2) / 255^2   (population variance, as Keras)
public enum NormalizationAdapt {
    /// Each channel's (mean, variance) of `set`'s `byte / 255` over every rank's shard, and the sample count.
    /// A collective: every rank calls it.
    public static func statistics(of set: LabelledImages, communicator: any Communicator) -> (mean: [Double], variance: [Double], count: Int) {
        let c = set.channels
        var byteSums = [Int](repeating: 0, count: c), squareSums = [Int](repeating: 0, count: c)
        set.pixels.withUnsafeBufferPointer { pixels in
            for i in 0..<pixels.count {
                let b = Int(pixels[i])
                byteSums[i % c] += b
                squareSums[i % c] += b * b
            }
        }
        var sums = byteSums.map(Double.init) + squareSums.map(Double.init) + [Double(set.count)]
        sums.withUnsafeMutableBufferPointer { communicator.allreduceSum($0.baseAddress!, count: $0.count) }
        let samples = Int(sums[2 * c]), n = Double(samples * set.height * set.width)
        let means = (0..<c).map { sums[$0] / n }
        let variances = (0..<c).map { max(sums[c + $0] / n - means[$0] * means[$0], 0) / (255 * 255) }
        return (means.map { $0 / 255 }, variances, samples)
    }

    /// Sets the state of every adapting `normalization` layer of `model` from `training`.
    /// Throws when one is not the model's first layer (it adapts to the images themselves).
    public static func adapt(_ model: Sequential, training: LabelledImages, communicator: any Communicator,
                             into state: FloatBuffer) throws {
        for (index, layer) in model.layers.enumerated() {
            guard let normalization = layer as? Normalization, normalization.adapt else { continue }
            let name = model.layerNames[index]
            guard index == 0 else {
                throw TrainingError("layer \(index + 1) (\(name)): normalization with adapt = true must be the model's first layer (it adapts to the training images); give mean and variance instead")
            }
            let (mean, variance, count) = statistics(of: training, communicator: communicator)
            for (tensor, values) in [("mean", mean), ("variance", variance), ("count", [Double(count)])] {
                guard let view = model.stateLayout.view(named: "\(name).\(tensor)") else { continue }
                for (i, value) in values.enumerated() { state[view.offset + i] = Float(value) }
            }
        }
    }
}
