/// The data sets `convnet-dist download` knows: their files (four IDX .gz files each) or the archive
/// that holds them, where to fetch them, and the checksums they must have.
public struct DatasetDescription: Sendable {
    public enum Checksum: Sendable, Equatable {
        case sha256(String)
        case md5(String)
    }

    public let name: String
    /// Mirrors tried in turn; a file's URL is mirror + file name.
    public let mirrors: [String]
    /// File name -> pinned checksum and exact size in bytes (a download that grows past it is cut off).
    public let files: [(name: String, checksum: Checksum, size: Int)]
    /// The data format the files are in (`[data] format`).
    public let format: String
    /// An archive fetched whole instead of `files` (CIFAR-10), nil for file-by-file sets.
    public let archive: DatasetArchive?
    /// Samples in its training set (an epoch before any `validation_split`).
    public let trainingCount: Int

    public init(name: String, mirrors: [String], files: [(name: String, checksum: Checksum, size: Int)] = [],
                format: String = "idx", archive: DatasetArchive? = nil, trainingCount: Int = 60_000) {
        self.name = name
        self.trainingCount = trainingCount
        self.mirrors = mirrors
        self.files = files
        self.format = format
        self.archive = archive
    }
}

/// A data set published as one archive (.tar.gz): its pinned checksum and size, checked before it is
/// unpacked, and the members kept from it, written flat into the data folder.
public struct DatasetArchive: Sendable {
    /// The archive's file name on the mirrors.
    public let name: String
    public let checksum: DatasetDescription.Checksum
    /// Its exact size in bytes (a download that grows past it is cut off).
    public let size: Int
    /// The folder inside the archive that holds the members.
    public let folder: String
    /// The members kept, with their exact sizes; nil for a small text file (at most `smallFileLimit`).
    public let members: [(name: String, size: Int?)]

    public static let smallFileLimit = 1 << 16

    public init(name: String, checksum: DatasetDescription.Checksum, size: Int, folder: String, members: [(name: String, size: Int?)]) {
        self.name = name
        self.checksum = checksum
        self.size = size
        self.folder = folder
        self.members = members
    }

    /// The most bytes the archive may unpack to: its members, and a mebibyte for tar headers and other small files.
    public var unpackedLimit: Int { members.reduce(1 << 20) { $0 + ($1.size ?? Self.smallFileLimit) } }
}

public enum DatasetCatalog {
    /// MNIST: the canonical files, pinned by SHA-256.
    public static let mnist = DatasetDescription(
        name: "mnist",
        mirrors: [
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ],
        files: [
            ("train-images-idx3-ubyte.gz", .sha256("440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"), 9_912_422),
            ("train-labels-idx1-ubyte.gz", .sha256("3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"), 28_881),
            ("t10k-images-idx3-ubyte.gz", .sha256("8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"), 1_648_877),
            ("t10k-labels-idx1-ubyte.gz", .sha256("f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"), 4_542),
        ])

    /// Fashion-MNIST (Zalando Research): same layout; pinned by the MD5 sums its authors publish.
    public static let fashionMNIST = DatasetDescription(
        name: "fashion-mnist",
        mirrors: [
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
        ],
        files: [
            ("train-images-idx3-ubyte.gz", .md5("8d4fb7e6c68d591d4c3dfef9ec88bf0d"), 26_421_880),
            ("train-labels-idx1-ubyte.gz", .md5("25c81989df183df01b3e8a0aad5dffbe"), 29_515),
            ("t10k-images-idx3-ubyte.gz", .md5("bef4ecab320f06d8554ea6380940ec79"), 4_422_102),
            ("t10k-labels-idx1-ubyte.gz", .md5("bb300cfdad3c16e7a12a480ee83cd310"), 5_148),
        ])

    /// CIFAR-10's binary version (Krizhevsky 2009), pinned by the MD5 its page publishes.
    public static let cifar10 = DatasetDescription(
        name: "cifar10",
        mirrors: ["https://www.cs.toronto.edu/~kriz/"],
        format: "cifar10",
        archive: DatasetArchive(
            name: "cifar-10-binary.tar.gz", checksum: .md5("c32a1d4ab5d03f1284b67883e8d87530"), size: 170_052_171,
            folder: "cifar-10-batches-bin",
            members: (1...5).map { ("data_batch_\($0).bin", 30_730_000) } + [("test_batch.bin", 30_730_000), ("batches.meta.txt", nil)]),
        trainingCount: 50_000)

    public static let all = [mnist, fashionMNIST, cifar10]

    public static func named(_ name: String) -> DatasetDescription? { all.first { $0.name == name } }
}
