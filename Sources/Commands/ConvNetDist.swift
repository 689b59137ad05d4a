import ArgumentParser
import ConvNetCore
import Training
import Foundation

/// The `convnet-dist` command line, for the executables that run it: the user's `convnet-dist`,
/// and the test suite's `convnet-dist-fault-injection`, which installs `TrainingHooks`.
public enum CommandLineTool {
    /// Parses the process's arguments and runs the command; returns on success, exits otherwise.
    /// `trainingHooks` go to `train`'s `Trainer`; the user's binary passes none.
    public static func main(trainingHooks: (any TrainingHooks)? = nil) {
        Train.hooks = trainingHooks
        ConvNetDist.main()
    }
}

struct ConvNetDist: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convnet-dist",
        abstract: "Data-parallel training of convolutional networks on CPUs, over Open MPI.",
        discussion: """
            Run as one process to debug, or under mpirun for data-parallel training:
              convnet-dist train --data-dir data/mnist
              mpirun -np 4 convnet-dist train
            """,
        subcommands: [Train.self, Evaluate.self, Predict.self, Export.self, Download.self, Convert.self, Plot.self, Summary.self, Bench.self])

    /// `--resume` may stand alone (the run folder's latest checkpoint) or take a path; the argument
    /// parser needs a value, so a bare `--resume` becomes `--resume=latest`.
    static func main() {
        SystemInfo.markProgramStart()
        // Line by line even into a pipe or file (mpirun, srun, a batch job's output): progress and
        // "Stopped on request" appear as they happen, not in 4 KiB blocks at the end.
        setvbuf(stdout, nil, _IOLBF, 0)
        if let problem = EnvironmentSwitches.problem(in: ProcessInfo.processInfo.environment) {
            FileHandle.standardError.write(Data("convnet-dist: error: \(problem)\n".utf8))
            Foundation.exit(2)
        }
        var arguments = Array(CommandLine.arguments.dropFirst())
        if let i = arguments.firstIndex(of: "--resume"), i + 1 == arguments.count || arguments[i + 1].hasPrefix("-") {
            arguments[i] = "--resume=\(Train.latestCheckpoint)"
        }
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}
