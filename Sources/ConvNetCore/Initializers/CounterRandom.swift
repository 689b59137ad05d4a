/// Random numbers addressed by coordinates rather than drawn from a stream: `unitFloat(element)` is
/// a pure function of (seed, purpose, step, sample, layer, element). Whoever computes a sample (any
/// rank, thread or chunk, before or after a resume) gets the same numbers for it.
///
/// Each coordinate is folded in with SplitMix64's finaliser, a bijective 64-bit mixer whose outputs
/// pass BigCrush as a counter-based generator.
public struct CounterRandom: Sendable {
    public enum Purpose: UInt64 { case dropout = 3, randomFlip = 4, randomTranslation = 5, randomCrop = 6 }

    /// The key for one (seed, purpose, step, sample, layer); elements are mixed in per call.
    public let key: UInt64

    public init(seed: UInt64, purpose: Purpose, step: Int, sample: Int64, layer: Int) {
        var k = CounterRandom.mix(seed ^ 0x6A09_E667_F3BC_C908)
        k = CounterRandom.mix(k ^ purpose.rawValue &* 0x9E37_79B9_7F4A_7C15)
        k = CounterRandom.mix(k ^ UInt64(truncatingIfNeeded: step) &* 0xBF58_476D_1CE4_E5B9)
        k = CounterRandom.mix(k ^ UInt64(bitPattern: sample) &* 0x94D0_49BB_1331_11EB)
        key = CounterRandom.mix(k ^ UInt64(truncatingIfNeeded: layer))
    }

    /// Uniform in [0, 1) with 24 random bits, exactly representable as Float.
    @inline(__always) public func unitFloat(_ element: Int) -> Float {
        Float(CounterRandom.mix(key ^ UInt64(truncatingIfNeeded: element) &* 0x9E37_79B9_7F4A_7C15) >> 40) * (1.0 / 16_777_216.0)
    }

    @inline(__always) static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
