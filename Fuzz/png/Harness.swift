// libFuzzer harness for the PNG decoder (Sources/Images/PNG.swift), as `convnet-dist predict`
// uses it on a user's picture: decode, then DigitPreprocessing.mnistLike to 28x28.
//
// Two kinds of input:
//  - one that starts with 0x89 (PNG's signature) is decoded as it is;
//  - any other is a recipe, so that mutations reach the scanline filters and the colour
//    conversion behind zlib (a mutated deflate stream rarely inflates to the right size):
//      byte 0: width - 1, byte 1: height - 1, byte 2: bit depth, byte 3: colour type,
//      byte 4: interlace method, byte 5: palette entries, then 3 bytes per palette entry,
//      then the filtered scanlines (filter byte + row), cut or zero-padded to the size the
//      header implies; the harness compresses them into an IDAT and writes a complete PNG.
// A thrown ImageError is the expected answer to a bad file; a trap, an out-of-bounds access,
// a hang or a huge allocation is a bug. A decoded image must survive PNG.encode -> decode.
//
// Built and run by tools/fuzz (swiftc -sanitize=fuzzer,address); seeds in Fuzz/corpus/png.
import SystemZlib
import Foundation
import Images

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let file = input.first == 0x89 || input.count < 6 ? input : pngFromRecipe(input)
    guard let image = try? PNG.decode(Data(file), name: "fuzz.png") else { return 0 }
    precondition(image.pixels.count == image.width * image.height)
    precondition(try! PNG.decode(PNG.encode(image), name: "re-encoded") == image, "PNG round trip changed the image")
    let digit = DigitPreprocessing.mnistLike(image, size: 28, box: 20)
    precondition(digit.width == 28 && digit.height == 28)
    return 0
}

private func pngFromRecipe(_ recipe: [UInt8]) -> [UInt8] {
    let width = Int(recipe[0]) + 1, height = Int(recipe[1]) + 1
    let (depth, colour, interlace) = (recipe[2], recipe[3], recipe[4])
    let paletteEnd = min(recipe.count, 6 + 3 * Int(recipe[5]))
    let palette = Array(recipe[6..<paletteEnd])
    var raw = Array(recipe[paletteEnd...])
    let channels: [UInt8: Int] = [0: 1, 2: 3, 3: 1, 4: 2, 6: 4]
    if let c = channels[colour] {   // the decoded size the header implies (whole bytes per row)
        let rowBytes = (width * c * Int(depth) + 7) / 8
        let wanted = height * (rowBytes + 1)
        raw = raw.count >= wanted ? Array(raw[..<wanted]) : raw + [UInt8](repeating: 0, count: wanted - raw.count)
    }
    var compressedSize = compressBound(UInt(raw.count))
    var compressed = [UInt8](repeating: 0, count: Int(compressedSize))
    precondition(compress2(&compressed, &compressedSize, raw, UInt(raw.count), 1) == Z_OK)
    func be32(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 255), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }
    func chunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
        let typed = Array(type.utf8) + body
        return be32(body.count) + typed + be32(Int(crc32(0, typed, UInt32(typed.count))))
    }
    var png: [UInt8] = [137, 80, 78, 71, 13, 10, 26, 10]
    png += chunk("IHDR", be32(width) + be32(height) + [depth, colour, 0, 0, interlace])
    if !palette.isEmpty { png += chunk("PLTE", palette) }
    png += chunk("IDAT", Array(compressed[..<Int(compressedSize)]))
    png += chunk("IEND", [])
    return png
}
