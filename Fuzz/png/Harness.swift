// libFuzzer harness for the PNG decoder (Sources/Images/PNG.swift), as `convnet-dist predict`
// uses it on a user's picture: decode, then DigitPreprocessing.mnistLike to 28x28.
//
// A thrown ImageError is the expected answer to a bad file; a trap, an out-of-bounds access,
// a hang or a huge allocation is a bug. A decoded image must survive PNG.encode -> decode.
//
// Built and run by launch/fuzz (swiftc -sanitize=fuzzer,address); seeds in Fuzz/corpus/png.
import Foundation
import Images

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard let image = try? PNG.decode(Data(bytes: data, count: size), name: "fuzz.png") else { return 0 }
    precondition(image.pixels.count == image.width * image.height)
    precondition(try! PNG.decode(PNG.encode(image), name: "re-encoded") == image, "PNG round trip changed the image")
    let digit = DigitPreprocessing.mnistLike(image, size: 28, box: 20)
    precondition(digit.width == 28 && digit.height == 28)
    return 0
}
