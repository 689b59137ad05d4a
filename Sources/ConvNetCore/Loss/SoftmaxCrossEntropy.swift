#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Categorical cross-entropy over softmax probabilities, fused with the softmax's backward pass.
///
/// For probabilities `p[n, k]` (the model's softmax output) and integer labels `t[n]`:
///
///     loss_n = -log(clip(p[n, t_n], 1e-7, 1 - 1e-7))        (Keras's clipping epsilon)
///     d loss_n / d z[n, k] = p[n, k] - [k == t_n]            (z: the logits before softmax)
///
/// Gradients here are of the **sum** over samples; the trainer divides by the global batch size
/// once, after gradients from every thread and rank are summed, so uneven splits weigh each
/// sample equally.
public enum SoftmaxCrossEntropy {
    public static let epsilon: Float = 1e-7

    /// Returns the summed loss and the number of samples whose arg-max (first maximum) equals the
    /// label; writes the logit gradients into `dLogits` when it is given.
    public static func lossAndGradient(probabilities p: UnsafePointer<Float>, labels: UnsafePointer<Int32>,
                                       batch: Int, classes: Int,
                                       dLogits: UnsafeMutablePointer<Float>?) -> (lossSum: Double, correct: Int) {
        var lossSum = 0.0
        var correct = 0
        for n in 0..<batch {
            let row = p + n * classes, label = Int(labels[n])
            lossSum += sampleLoss(probability: row[label])
            if argmax(row, count: classes) == label { correct += 1 }
            guard let gradient = dLogits?.advanced(by: n * classes) else { continue }
            for k in 0..<classes { gradient[k] = row[k] }
            gradient[label] -= 1
        }
        return (lossSum, correct)
    }

    @inline(__always) static func sampleLoss(probability: Float) -> Double {
        -log(Double(min(max(probability, epsilon), 1 - epsilon)))
    }

    public static func argmax(_ row: UnsafePointer<Float>, count: Int) -> Int {
        var best = 0
        for k in 1..<count where row[k] > row[best] { best = k }
        return best
    }
}
