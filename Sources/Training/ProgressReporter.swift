import Foundation

/// Live training progress on the console. On a terminal one line is redrawn in place (bar,
/// step/steps, loss, accuracy, samples/s, ETA); otherwise plain lines, about ten per epoch, so logs
/// stay readable; `json` prints one JSON object per line (progress, epoch, message) for machines;
/// `quiet` prints only the epoch lines. Only rank 0 reports.
public final class ProgressReporter {
    public enum Style { case terminal, plain, json, quiet, silent }

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
        case .silent, .quiet:
            return
        case .json:
            if step == 1 { nextPlainStep = max(1, steps / 10) }
            guard step >= nextPlainStep, step < steps else { return }
            nextPlainStep += max(1, steps / 10)
            emit(["event": "progress", "epoch": epoch, "epochs": epochs, "step": step, "steps": steps, "loss": loss,
                  "accuracy": accuracy, "samples_per_second": rate, "eta_seconds": eta])
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
        if style == .json {
            var object: [String: Any] = [
                "event": "epoch", "epoch": m.epoch, "epochs": epochs, "steps": m.steps, "train_loss": m.trainLoss,
                "train_accuracy": m.trainAccuracy,
                "epoch_seconds": m.epochSeconds, "samples_per_second": m.samplesPerSecond, "eval_seconds": m.evaluationSeconds]
            if let loss = m.testLoss, let accuracy = m.testAccuracy {   // omitted without a test set
                object["test_loss"] = loss
                object["test_accuracy"] = accuracy
            }
            if let loss = m.validationLoss, let accuracy = m.validationAccuracy {
                object["val_loss"] = loss
                object["val_accuracy"] = accuracy
            }
            emit(object)
            return
        }
        if style == .terminal { FileHandle.standardOutput.write(Data("\r\u{1B}[K".utf8)) }
        var test = "", validation = ""
        if let loss = m.testLoss, let accuracy = m.testAccuracy {
            test = " - test_loss: \(fixed(loss, 4)) - test_accuracy: \(fixed(accuracy, 4))"
        }
        if let loss = m.validationLoss, let accuracy = m.validationAccuracy {
            validation = " - val_loss: \(fixed(loss, 4)) - val_accuracy: \(fixed(accuracy, 4))"
        }
        print("Epoch \(m.epoch)/\(epochs) - \(m.steps) steps - \(fixed(m.epochSeconds, 2))s - "
              + "\(Int(m.samplesPerSecond)) samples/s - loss: \(fixed(m.trainLoss, 4)) - accuracy: \(fixed(m.trainAccuracy, 4))"
              + test + validation)
    }

    public func message(_ text: String) {
        switch style {
        case .silent, .quiet: return
        case .json: emit(["event": "message", "text": text])
        default: print(text)
        }
    }

    /// Something the user should know that does not stop the run (files skipped), on standard error.
    public func warning(_ text: String) {
        switch style {
        case .silent: return
        case .json: emit(["event": "warning", "text": text])
        default: FileHandle.standardError.write(Data("warning: \(text)\n".utf8))
        }
    }

    private let loadingLock = NSLock()
    private var loadingQuartersShown = 0

    /// Pictures decoded so far: a bar redrawn in place on a terminal, a line per quarter otherwise.
    /// Called from several decoding threads at once.
    public func loading(done: Int, total: Int) {
        loadingLock.withLock {
            switch style {
            case .silent, .quiet: return
            case .terminal:
                let now = ContinuousClock.now
                guard done == total || now - lastDraw >= .milliseconds(100) else { return }
                lastDraw = now
                let width = 24, filled = total > 0 ? width * done / total : width
                let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled)
                let end = done == total ? "\r\u{1B}[K" : ""
                FileHandle.standardOutput.write(Data("\rDecoding pictures [\(bar)] \(done)/\(total)\u{1B}[K\(end)".utf8))
            case .plain, .json:
                let quarter = total > 0 ? 4 * done / total : 4
                guard quarter > loadingQuartersShown else { return }
                loadingQuartersShown = done == total ? 0 : quarter   // the next set starts afresh
                if style == .json { emit(["event": "loading", "done": done, "total": total]) }
                else { print("Decoding pictures: \(done)/\(total)") }
            }
        }
    }

    /// Important lines (how to resume after a stop) that even `quiet` prints.
    public func notice(_ text: String) {
        switch style {
        case .silent: return
        case .json: emit(["event": "notice", "text": text])
        default: print(text)
        }
    }

    private func emit(_ object: [String: Any]) {
        let finite = object.mapValues { value -> Any in
            if let number = value as? Double, !number.isFinite { return String(number) }
            return value
        }
        guard let data = try? JSONSerialization.data(withJSONObject: finite, options: [.sortedKeys]) else { return }
        print(String(decoding: data, as: UTF8.self))
        fflush(stdout)
    }

    private func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 60 ? "\(s / 60)m\(s % 60)s" : "\(s)s"
    }
}
