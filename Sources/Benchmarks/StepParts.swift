import ConvNetCore

extension Benchmark {
    /// `times`' step parts per step, then the rest of `gradients` (less its parts and the layers)
    /// and the rest of the step.
    static func stepPartTimes(_ times: LayerTimes, steps: Int, stepMilliseconds: Double) -> [BenchmarkReport.StepPartTime] {
        func milliseconds(_ nanoseconds: UInt64) -> Double { Double(nanoseconds) / 1e6 / Double(steps) }
        let parts = StepPart.allCases.filter { $0 != .gradients }
        let call = milliseconds(times.partNanoseconds[StepPart.gradients.rawValue])
        let layers = milliseconds(times.forwardNanoseconds.reduce(0, +) + times.backwardNanoseconds.reduce(0, +))
        let measured = parts.map { BenchmarkReport.StepPartTime(part: $0.label, milliseconds: milliseconds(times.partNanoseconds[$0.rawValue])) }
        let inside = call - layers - measured.reduce(0) { $0 + $1.milliseconds }
        return measured + [BenchmarkReport.StepPartTime(part: "rest of the gradients call", milliseconds: inside),
                           BenchmarkReport.StepPartTime(part: "rest of the step (optimizer, data, last wait)",
                                                        milliseconds: stepMilliseconds - call)]
    }
}
