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

    /// Headers that parse as JSON but describe impossible layouts.
    func testCraftedHeadersAreRefused() {
        func file(_ header: String, dataBytes: Int) -> Data {
            var bytes = Array(header.utf8)
            while (8 + bytes.count) % 8 != 0 { bytes.append(UInt8(ascii: " ")) }
            return withUnsafeBytes(of: UInt64(bytes.count).littleEndian) { Data($0) } + Data(bytes) + Data(count: dataBytes)
        }
        func message(_ data: Data) -> String {
            do { _ = try SafeTensors.decode(data); return "accepted" } catch { return "\(error)" }
        }
        let overlap = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        XCTAssertTrue(message(file(overlap, dataBytes: 12)).contains("tensor b starts at byte 4 of the data, expected 8"), message(file(overlap, dataBytes: 12)))
        let gap = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        XCTAssertTrue(message(file(gap, dataBytes: 8)).contains("starts at byte 4 of the data, expected 0"))
        let trailing = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#
        XCTAssertTrue(message(file(trailing, dataBytes: 8)).contains("the tensors cover 4 bytes of data, but 8 follow the header"))
        let fraction = #"{"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}"#
        XCTAssertTrue(message(file(fraction, dataBytes: 8)).contains("not lists of whole numbers"))
        let text = #"{"a":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}}"#
        XCTAssertTrue(message(file(text, dataBytes: 8)).contains("not lists of whole numbers"))
        let huge = #"{"a":{"dtype":"F32","shape":[1e300],"data_offsets":[0,8]}}"#
        XCTAssertTrue(message(file(huge, dataBytes: 8)).contains("not lists of whole numbers"))
        let hugeShape = #"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#
        XCTAssertTrue(message(file(hugeShape, dataBytes: 8)).contains("absurd shape"))
    }
}
