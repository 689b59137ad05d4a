import Foundation
import SafeTensors
import XCTest

final class SafeTensorsTests: XCTestCase {
    func testRoundTripKeepsOrderValuesAndMetadata() throws {
        let a = SafeTensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6]), b = SafeTensor(shape: [1], values: [-0.5])
        let data = SafeTensors.encode([("z.kernel", a), ("a.bias", b)], metadata: ["epoch": "3", "note": "say \"hi\""])
        let headerLength = data.prefix(8).reversed().reduce(0) { $0 << 8 | Int($1) }
        XCTAssertEqual(headerLength % 8, 0, "tensor data starts 8-byte aligned")
        let file = try SafeTensors.decode(data)
        XCTAssertEqual(file.names, ["z.kernel", "a.bias"])
        XCTAssertEqual(file.tensors["z.kernel"], a)
        XCTAssertEqual(file.tensors["a.bias"], b)
        XCTAssertEqual(file.metadata, ["epoch": "3", "note": "say \"hi\""])
    }

    func testMalformedFilesAreRefused() {
        let good = SafeTensors.encode([("w", SafeTensor(shape: [4], values: [1, 2, 3, 4]))], metadata: [:])
        func message(_ data: Data) -> String {
            do { _ = try SafeTensors.decode(data); return "accepted" } catch { return "\(error)" }
        }
        XCTAssertTrue(message(good.prefix(5)).contains("truncated"))
        XCTAssertTrue(message(good.prefix(good.count - 4)).contains("truncated: tensor w ends at byte 16"))
        var absurd = good
        absurd.replaceSubrange(0..<8, with: withUnsafeBytes(of: UInt64(1) << 40) { Data($0) })
        XCTAssertTrue(message(absurd).contains("absurd"))
        var notJSON = good
        notJSON[8] = UInt8(ascii: "x")
        XCTAssertTrue(message(notJSON).contains("bad header"))
    }
}
