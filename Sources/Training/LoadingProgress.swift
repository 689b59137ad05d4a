import Communication
import DataFormats
import Foundation

extension RunSetup {
    /// How this rank reads its data: on its training threads; rank 0 reports decoding progress and
    /// warnings (every rank decodes about as much, so one report tells the job's progress).
    static func loadingOptions(_ training: TrainingOptions, communicator: any Communicator, reporter: ProgressReporter) -> DataSetOptions {
        var options = DataSetOptions(threads: training.threads, skipBadFiles: training.config.skipBadFiles)
        guard communicator.isRoot else {
            options.warn = { _ in }
            return options
        }
        options.warn = { reporter.warning($0) }
        options.note = { reporter.message($0) }
        options.progress = { reporter.loading(done: $0, total: $1) }
        return options
    }
}
