// libFuzzer harness for the PGM decoder (Sources/Images/PGM.swift: P5 binary and P2 plain),
// as `convnet-dist predict` uses it on a user's picture: decode, then
// DigitPreprocessing.mnistLike to 28x28.
//
// A thrown ImageError is the expected answer to a bad file; a trap, an out-of-bounds access,
// a hang or a huge allocation is a bug. A decoded image must survive PGM.encode -> decode.
//
// Built and run by tools/fuzz (swiftc -sanitize=fuzzer,address); seeds in Fuzz/corpus/pgm.
import Foundation
import Images

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard let image = try? PGM.decode(Data(bytes: data, count: size), name: "fuzz.pgm") else { return 0 }
    precondition(image.pixels.count == image.width * image.height)
    precondition(try! PGM.decode(PGM.encode(image), name: "re-encoded") == image, "PGM round trip changed the image")
    let digit = DigitPreprocessing.mnistLike(image, size: 28, box: 20)
    precondition(digit.width == 28 && digit.height == 28)
    return 0
}
