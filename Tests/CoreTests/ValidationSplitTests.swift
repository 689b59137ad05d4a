import ConvNetConfig
import ConvNetData
import XCTest

/// `validation_split`: Keras's cut, the shards of both parts, and the config key.
final class ValidationSplitTests: XCTestCase {
    /// Keras 3 `train_validation_split`: `split_at = int(math.floor(n * (1.0 - validation_split)))`.
    func testTrainingCountFollowsKeras() {
        XCTAssertEqual(ValidationSplit.trainingCount(of: 60000, fraction: 0.1), 54000)
        XCTAssertEqual(ValidationSplit.trainingCount(of: 1010, fraction: 0.1), 909)
        XCTAssertEqual(ValidationSplit.trainingCount(of: 1001, fraction: 0.15), 850)   // floor(850.85)
        XCTAssertEqual(ValidationSplit.trainingCount(of: 100, fraction: 0.999), 0)
        XCTAssertEqual(ValidationSplit.trainingCount(of: 100, fraction: 1e-17), 100)   // 1 - 1e-17 == 1 in Double
    }

    /// For every rank count: the training part is the truncated file's shard, and the validation
    /// parts of all ranks hold every held-out sample once, at its validation index.
    func testSplitShardsAreTheTruncatedFileAndAStridedValidationSet() {
        let total = 23, kept = 16
        let labels = (0..<total).map { UInt8($0) }
        let pixels = labels.flatMap { [$0, $0 &+ 100] }   // 2 pixels per sample, tagged with the sample
        for ranks in 1...4 {
            var seen = [Int](repeating: 0, count: total - kept)
            for rank in 0..<ranks {
                let shard = Shard(index: rank, count: ranks)
                let indices = (0..<total).filter(shard.contains)
                let loaded = LabelledImages(pixels: indices.flatMap { [pixels[2 * $0], pixels[2 * $0 + 1]] },
                                            labels: indices.map { labels[$0] }, height: 1, width: 2, channels: 1,
                                            shard: shard, totalCount: total)
                let (training, validation) = loaded.split(trainingCount: kept)
                let truncated = (0..<kept).filter(shard.contains)
                XCTAssertEqual(training.labels, truncated.map { labels[$0] })
                XCTAssertEqual(training.pixels, truncated.flatMap { [pixels[2 * $0], pixels[2 * $0 + 1]] })
                XCTAssertEqual(training.shard, shard)
                XCTAssertEqual(training.totalCount, kept)
                XCTAssertEqual(validation.totalCount, total - kept)
                XCTAssertEqual(validation.count, validation.shard.size(of: total - kept))
                for k in 0..<validation.count {
                    let m = validation.shard.globalIndex(of: k)
                    XCTAssertEqual(Int(validation.labels[k]), kept + m, "\(ranks) ranks, rank \(rank), local \(k)")
                    XCTAssertEqual(validation.pixels[2 * k + 1], UInt8(kept + m) &+ 100)
                    seen[m] += 1
                }
            }
            XCTAssertEqual(seen, [Int](repeating: 1, count: total - kept), "\(ranks) ranks")
        }
    }

    /// The key is read, range-checked, and written back only when set (as `format`).
    func testConfigKey() throws {
        let reference = try ExperimentConfig.parse(toml: ExperimentConfig.reference.tomlText)
        XCTAssertEqual(reference.validationSplit, 0)
        XCTAssertFalse(ExperimentConfig.reference.tomlText.contains("validation_split"))
        var config = ExperimentConfig.reference
        config.validationSplit = 0.1
        XCTAssertTrue(config.tomlText.contains("[data]\ndataset = \"mnist\"\nvalidation_split = 0.1\n"), config.tomlText)
        XCTAssertEqual(try ExperimentConfig.parse(toml: config.tomlText), config)
        XCTAssertNotEqual(config, ExperimentConfig.reference)
        for bad in ["-0.1", "1", "1.5", "nan", "\"a\""] {
            let text = ExperimentConfig.reference.tomlText.replacingOccurrences(of: "[data]\n", with: "[data]\nvalidation_split = \(bad)\n")
            XCTAssertThrowsError(try ExperimentConfig.parse(toml: text), bad) { error in
                XCTAssertTrue("\(error)".contains("data.validation_split must be"), "\(bad): \(error)")
            }
        }
    }
}
