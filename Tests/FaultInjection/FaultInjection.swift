import Foundation
import Training

/// Faults that tests switch on, to check that a slow disk or a stalled peer ends the job the way the
/// real fault would: the `TrainingHooks` of `convnet-dist-fault-injection` (the user's `convnet-dist`
/// has none), read once from `CONVNET_TEST_FAULT` as comma-separated items,
///
///     loading-delay=S            sleep S seconds before reading the data (a slow file system)
///     step-delay=STEP:S[@RANK]   sleep S seconds inside global step STEP (1-based), on RANK or every rank
///
/// Each fault prints a `test fault:` line on standard error when it fires, so a test can wait for it.
struct FaultInjection: TrainingHooks {
    static let environmentVariable = "CONVNET_TEST_FAULT"

    var loadingDelay: Double?
    var stepDelay: (step: Int, seconds: Double, rank: Int?)?

    init() {}

    /// The faults requested by the environment (none when the variable is unset).
    static func fromEnvironment() throws -> FaultInjection {
        guard let text = ProcessInfo.processInfo.environment[environmentVariable], !text.isEmpty else { return FaultInjection() }
        return try parse(text)
    }

    static func parse(_ text: String) throws -> FaultInjection {
        var faults = FaultInjection()
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw invalid(String(item)) }
            let (value, rank) = try splitRank(parts[1], item: String(item))
            let fields = value.split(separator: ":").map(String.init)
            switch (parts[0], fields.count) {
            case ("loading-delay", 1) where rank == nil:
                faults.loadingDelay = try seconds(fields[0], item: String(item))
            case ("step-delay", 2):
                faults.stepDelay = (try step(fields[0], item: String(item)), try seconds(fields[1], item: String(item)), rank)
            default:
                throw invalid(String(item))
            }
        }
        return faults
    }

    /// Called before the data is read.
    func beforeLoading() {
        guard let loadingDelay else { return }
        announce("sleeping \(loadingDelay) s before loading the data")
        Thread.sleep(forTimeInterval: loadingDelay)
    }

    /// Called inside every training step, before its gradients are exchanged.
    func inStep(globalStep: Int, rank: Int) {
        if let delay = stepDelay, delay.step == globalStep, delay.rank ?? rank == rank {
            announce("rank \(rank) sleeps \(delay.seconds) s in global step \(globalStep)")
            Thread.sleep(forTimeInterval: delay.seconds)
        }
    }

    private func announce(_ what: String) {
        FileHandle.standardError.write(Data("test fault: \(what)\n".utf8))
    }

    private static func splitRank(_ text: String, item: String) throws -> (String, Int?) {
        let parts = text.split(separator: "@", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return (text, nil) }
        guard let rank = Int(parts[1]), rank >= 0 else { throw invalid(item) }
        return (parts[0], rank)
    }

    private static func step(_ text: String, item: String) throws -> Int {
        guard let step = Int(text), step >= 1 else { throw invalid(item) }
        return step
    }

    private static func seconds(_ text: String, item: String) throws -> Double {
        guard let seconds = Double(text), seconds >= 0, seconds <= 86_400 else { throw invalid(item) }
        return seconds
    }

    private static func invalid(_ item: String) -> TrainingError {
        TrainingError("\(environmentVariable): cannot read \"\(item)\" (expected loading-delay=S or step-delay=STEP:S[@RANK])")
    }
}
