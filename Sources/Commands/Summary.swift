import ArgumentParser
import ConvNetCore

struct Summary: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a Keras-style table of the model's layers, output shapes and parameters.",
        discussion: "Example:\n  convnet-dist summary --config configs/mnist.toml")

    @OptionGroup var experiment: ExperimentOptions

    func run() throws {
        try reportingErrors {
            print(try Sequential(try experiment.resolve().model).summary())
        }
    }
}
