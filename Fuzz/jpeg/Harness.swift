// libFuzzer harness for picture decoding as image folders and `predict` use it (Sources/Images):
// PictureFile.decode sniffs PNG, JPEG or PGM, libjpeg-turbo or libpng decode to grey or RGB
// (byte 0 of the input chooses, the rest is the file), then BilinearResize to 28x28 as training does.
// libjpeg-turbo itself is not instrumented: the fuzzer explores our wrapper (size checks, the
// no-frame-header case, warnings as errors, channel conversion) and the resize behind it.
// A thrown ImageError is the expected answer to a bad file; a trap, an out-of-bounds access, a hang
// or a huge allocation is a bug.
//
// Built and run by tools/fuzz (swiftc -sanitize=fuzzer,address); seeds in Fuzz/corpus/jpeg
// (seed-*: an MNIST digit written by `convnet-dist convert --image-format jpeg`, and 12x9 pictures by
// libjpeg-turbo's cjpeg: RGB 4:2:0 and 4:4:4, progressive, grey with restart markers, arithmetic
// coding; each twice, first byte 0 (decode to grey) and 1 (to RGB)).
import Foundation
import Images

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 1 else { return 0 }
    let channels = data[0] & 1 == 0 ? 1 : 3
    let file = Data(UnsafeBufferPointer(start: data + 1, count: size - 1))
    guard let picture = try? PictureFile.decode(file, name: "fuzz.jpg", channels: channels) else { return 0 }
    precondition(picture.channels == channels && picture.pixels.count == picture.width * picture.height * channels)
    let resized = BilinearResize.resize(picture, height: 28, width: 28)
    precondition(resized.pixels.count == 28 * 28 * channels)
    return 0
}
