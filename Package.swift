// swift-tools-version:6.0
import PackageDescription

// Layering (each arrow is "may import"):
//   convnet-dist -> Commands (CLI) -> Training -> { ConvNetCore, DataFormats -> { ConvNetData, Images }, ConvNetConfig, SafeTensors, Communication }
//   Commands (CLI) -> ModelExport -> { Training, SwiftProtobuf }   (only ModelExport and TensorBoard see protobuf)
//   Training -> TensorBoard -> SwiftProtobuf   (TensorBoard knows nothing of training or MPI)
//   ConvNetCore knows nothing of MPI, files or configs; Communication is the only door to MPI.
let package = Package(
    name: "convnet-dist",
    products: [
        .executable(name: "convnet-dist", targets: ["convnet-dist"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.0.0"),
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.19"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        // Not "CZlib": ZIPFoundation has a module of that name.
        .systemLibrary(name: "SystemZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        // -ffp-contract=off: the compiler may not fuse a * b + c on its own; the kernels write their FMA
        // chains explicitly, so every row is computed by the same instruction sequence and results are
        // bit-identical for any thread or rank count. -O3 vectorises the portable fallback loops.
        // -fno-math-errno: nothing reads errno, and with it sqrtf had to stay a library call per element,
        // which kept RMSprop's loop scalar (docs/performance.md); the square root is correctly
        // rounded either way, so no bit changes.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3", "-ffp-contract=off", "-fno-math-errno"])]),
        // Checked arithmetic everywhere (no -Ounchecked): the hot loops are C (CKernels), so the checks
        // cost nothing measurable (tools/bench-ab), while an unchecked index bug would corrupt memory
        // silently instead of stopping.
        .target(name: "ConvNetCore", dependencies: ["CBLAS", "CKernels", "KindRegistry"]),
        // The lookup by name that every registry of kinds shares (layers, losses, optimizers, data formats, ...).
        .target(name: "KindRegistry"),
        .target(name: "ConvNetData", dependencies: ["SystemZlib"]),
        // The data formats beyond IDX, each read with a library (CSV.swift, ZIPFoundation), and their registry.
        .target(name: "DataFormats", dependencies: ["ConvNetData", "KindRegistry", "Images", .product(name: "CSV", package: "CSV.swift"), "ZIPFoundation"]),
        .target(name: "SafeTensors"),
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c",
                       providers: [.apt(["libopenmpi-dev"])]),
        .target(name: "Communication", dependencies: ["CMPI"]),
        .target(name: "CTOMLGuard"),
        .target(name: "ConvNetConfig", dependencies: ["ConvNetCore", "TOMLKit", "CTOMLGuard"]),
        .target(name: "Training",
                dependencies: ["ConvNetCore", "ConvNetData", "DataFormats", "ConvNetConfig", "SafeTensors", "Communication", "Plots",
                               "TensorBoard"]),
        // TensorFlow events files (TFRecord framing, CRC-32C, Event protobufs): tensorboard.pb.swift is
        // generated once from proto/tensorboard.proto and committed, as onnx.pb.swift is.
        .target(name: "TensorBoard", dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")], exclude: ["proto"]),
        // "Model out": a checkpoint as an ONNX model or a Keras script. onnx.pb.swift is generated once
        // from proto/onnx.proto and committed (README: how to regenerate); the build never runs protoc.
        .target(name: "ModelExport",
                dependencies: ["ConvNetCore", "ConvNetData", "KindRegistry", "Training",
                               .product(name: "SwiftProtobuf", package: "swift-protobuf")],
                exclude: ["proto"]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CTurboJPEG", pkgConfig: "libturbojpeg", providers: [.apt(["libturbojpeg0-dev"])]),
        // Pictures: PNG by libpng, JPEG by libjpeg-turbo (untrusted bytes are parsed by well-kept libraries).
        .target(name: "Images", dependencies: ["CPNG", "CTurboJPEG"]),
        .target(name: "Plots"),
        .target(name: "Datasets", dependencies: ["ConvNetData", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "Benchmarks", dependencies: ["ConvNetCore", "ConvNetConfig", "ConvNetData", "DataFormats", "Communication", "Training"]),
        // The command line as a library, so that the test suite's fault-injecting build runs the same commands.
        .target(name: "Commands", dependencies: [
            "Training", "Communication", "Benchmarks", "Datasets", "DataFormats", "Images", "Plots", "SafeTensors",
            "ModelExport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "convnet-dist", dependencies: ["Commands"]),
        // Tests only: convnet-dist with the faults of CONVNET_TEST_FAULT installed as TrainingHooks.
        .executableTarget(name: "convnet-dist-fault-injection", dependencies: ["Commands", "Training"], path: "Tests/FaultInjection"),
        .target(name: "TestSupport", dependencies: ["ConvNetCore", "ConvNetData", "Images", "ZIPFoundation"], path: "Tests/TestSupport"),
        .testTarget(name: "CoreTests",
                    dependencies: ["ConvNetCore", "ConvNetData", "DataFormats", "ConvNetConfig", "SafeTensors", "Images", "TestSupport",
                                   "ModelExport", "Training", "TensorBoard", .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        .testTarget(name: "EndToEndTests",
                    dependencies: ["ConvNetCore", "ConvNetData", "DataFormats", "ConvNetConfig", "SafeTensors", "Training",
                                   "Communication", "TestSupport", "Images", "Plots", "Datasets", "TensorBoard"]),
    ],
    swiftLanguageModes: [.v5]
)
