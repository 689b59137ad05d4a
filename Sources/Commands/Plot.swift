import ArgumentParser
import Plots

struct Plot: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Redraw a run folder's pictures (curves.svg, confusion.svg) from its metrics.csv and confusion.csv.",
        discussion: "Example:\n  convnet-dist plot runs/mnist")

    @Argument(help: "The run folder.")
    var runDirectory: String

    func run() throws {
        try reportingErrors {
            for path in try RunFolderPlots.redraw(runDirectory: runDirectory) { print("wrote \(path)") }
        }
    }
}
