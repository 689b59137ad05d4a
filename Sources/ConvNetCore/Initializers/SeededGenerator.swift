/// SplitMix64: a small, fast, well-mixed 64-bit generator whose whole state is one integer, so a
/// run's randomness is a pure function of `--seed` on every platform and every rank.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// An independent stream for a purpose (e.g. `derive(1, epoch)` for epoch shuffles), so adding a
    /// new use of randomness never shifts the numbers another use sees.
    public init(seed: UInt64, stream: UInt64...) {
        var mixer = SeededGenerator(seed: seed)
        var mixed = mixer.next()
        for s in stream {
            mixer = SeededGenerator(seed: mixed ^ (s &* 0x9E37_79B9_7F4A_7C15))
            mixed = mixer.next()
        }
        state = mixed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 24 random bits, exactly representable as Float.
    public mutating func nextUnitFloat() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }
}
