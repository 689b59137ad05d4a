import Foundation

/// Live training progress on the console. On a terminal one line is redrawn in place (bar,
/// step/steps, loss, accuracy, samples/s, ETA); otherwise plain lines, about ten per epoch, so logs
/// stay readable. Only rank 0 reports.
public final class ProgressReporter {
    public enum Style { case terminal, plain, silent }

    let style: Style
    private var lastDraw = ContinuousClock.now
    private var nextPlainStep = 0

    public init(style: Style) { self.style = style }

    /// `.terminal` when standard output is a terminal, else `.plain`.
    public static func automaticStyle() -> Style { isatty(1) == 1 ? .terminal : .plain }

    public func stepDone(epoch: Int, epochs: Int, step: Int, steps: Int, loss: Double, accuracy: Double,
                         samples: Int, elapsed: Double) {
        let rate = elapsed > 0 ? Double(samples) / elapsed : 0
        let eta = step > 0 ? elapsed / Double(step) * Double(steps - step) : 0
        let stats = "loss \(fixed(loss, 4)) - acc \(fixed(accuracy, 4)) - \(Int(rate)) samples/s"
        switch style {
        case .silent:
            return
        case .terminal:
            let now = ContinuousClock.now
            guard step == steps || now - lastDraw >= .milliseconds(100) else { return }
            lastDraw = now
            let width = 24, filled = steps > 0 ? width * step / steps : width
            let bar = String(repeating: "=", count: filled) + (filled < width ? ">" : "")
                + String(repeating: " ", count: max(0, width - filled - 1))
            let line = "Epoch \(epoch)/\(epochs) [\(bar)] \(step)/\(steps) - \(stats) - ETA \(duration(eta))"
            FileHandle.standardOutput.write(Data(("\r" + line + "\u{1B}[K").utf8))
        case .plain:
            if step == 1 { nextPlainStep = max(1, steps / 10) }
            guard step >= nextPlainStep, step < steps else { return }
            nextPlainStep += max(1, steps / 10)
            print("Epoch \(epoch)/\(epochs) step \(step)/\(steps) - \(stats) - ETA \(duration(eta))")
        }
    }

    public func epochDone(_ m: EpochMetrics, epochs: Int) {
        if style == .silent { return }
        if style == .terminal { FileHandle.standardOutput.write(Data("\r\u{1B}[K".utf8)) }
        print("Epoch \(m.epoch)/\(epochs) - \(m.steps) steps - \(fixed(m.epochSeconds, 2))s - "
              + "\(Int(m.samplesPerSecond)) samples/s - loss: \(fixed(m.trainLoss, 4)) - accuracy: \(fixed(m.trainAccuracy, 4)) - "
              + "test_loss: \(fixed(m.testLoss, 4)) - test_accuracy: \(fixed(m.testAccuracy, 4))")
    }

    public func message(_ text: String) {
        if style != .silent { print(text) }
    }

    private func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 60 ? "\(s / 60)m\(s % 60)s" : "\(s)s"
    }
}
