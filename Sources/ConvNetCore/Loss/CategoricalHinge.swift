/// Keras `categorical_hinge`: with `pos = sum_k y_k p_k` and `neg = max_k (1 - y_k) p_k`,
/// `loss = max(neg - pos + 1, 0)`. Config: `name = "categorical_hinge"`.
public struct CategoricalHinge: KeylessLoss {
    public static let name = "categorical_hinge", kerasClass = "CategoricalHinge"
    public init() {}

    public func sampleLoss(output p: UnsafePointer<Float>, label: Int, classes: Int, fused: Bool,
                           gradient: UnsafeMutablePointer<Float>?) -> Double {
        let positive = p[label]
        var negative = -Float.infinity, worst = 0
        for k in 0..<classes {
            let v = k == label ? 0 : p[k]
            if v > negative { negative = v; worst = k }
        }
        let margin = negative - positive + 1
        if let gradient {
            for k in 0..<classes { gradient[k] = 0 }
            if margin > 0 {
                gradient[label] -= 1
                if worst != label { gradient[worst] += 1 }
            }
        }
        return Double(max(margin, 0))
    }
}
