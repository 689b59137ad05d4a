import ArgumentParser

@main
struct ConvNetDist: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convnet-dist",
        abstract: "Data-parallel training of convolutional networks on CPUs, over Open MPI.",
        discussion: """
            Run as one process to debug, or under mpirun for data-parallel training:
              convnet-dist train --data-dir data/mnist
              mpirun -np 4 convnet-dist train
            """,
        subcommands: [Train.self, Summary.self])
}
