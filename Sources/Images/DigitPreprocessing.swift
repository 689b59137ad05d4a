/// Turns a picture of a handwritten digit into what MNIST images look like: a light digit on a
/// black background, the digit scaled to fit a 20x20 box (aspect kept) and centred by its centre
/// of mass in a 28x28 frame, as LeCun et al. prepared MNIST.
public enum DigitPreprocessing {
    public static func mnistLike(_ image: GreyImage, size: Int = 28, box: Int = 20) -> GreyImage {
        var pixels = image.pixels.map(Double.init)
        // A light background (judged by the border) means dark ink: invert to MNIST's polarity.
        var border: [Double] = []
        for x in 0..<image.width {
            border.append(pixels[x])
            border.append(pixels[(image.height - 1) * image.width + x])
        }
        for y in 0..<image.height {
            border.append(pixels[y * image.width])
            border.append(pixels[y * image.width + image.width - 1])
        }
        if border.reduce(0, +) / Double(border.count) > 127 { pixels = pixels.map { 255 - $0 } }
        let background = border.isEmpty ? 0 : min(pixels.min() ?? 0, 255)
        pixels = pixels.map { max(0, $0 - background) }

        // Bounding box of the ink.
        let threshold = (pixels.max() ?? 0) * 0.2
        var (minX, minY, maxX, maxY) = (image.width, image.height, -1, -1)
        for y in 0..<image.height {
            for x in 0..<image.width where pixels[y * image.width + x] > threshold {
                (minX, minY, maxX, maxY) = (min(minX, x), min(minY, y), max(maxX, x), max(maxY, y))
            }
        }
        guard maxX >= minX else { return GreyImage(width: size, height: size, pixels: [UInt8](repeating: 0, count: size * size)) }
        let boxWidth = maxX - minX + 1, boxHeight = maxY - minY + 1
        let scale = Double(box) / Double(max(boxWidth, boxHeight))
        let targetWidth = max(1, Int((Double(boxWidth) * scale).rounded())), targetHeight = max(1, Int((Double(boxHeight) * scale).rounded()))

        // Area-average resampling of the box to targetWidth x targetHeight.
        var small = [Double](repeating: 0, count: targetWidth * targetHeight)
        for ty in 0..<targetHeight {
            for tx in 0..<targetWidth {
                let x0 = Double(minX) + Double(tx) / scale, x1 = Double(minX) + Double(tx + 1) / scale
                let y0 = Double(minY) + Double(ty) / scale, y1 = Double(minY) + Double(ty + 1) / scale
                var sum = 0.0, area = 0.0
                for y in Int(y0)..<min(image.height, Int(y1.rounded(.up))) {
                    let hy = min(y1, Double(y + 1)) - max(y0, Double(y))
                    for x in Int(x0)..<min(image.width, Int(x1.rounded(.up))) {
                        let w = (min(x1, Double(x + 1)) - max(x0, Double(x))) * hy
                        if w > 0 { sum += w * pixels[y * image.width + x]; area += w }
                    }
                }
                small[ty * targetWidth + tx] = area > 0 ? sum / area : 0
            }
        }
        // Centre of mass to the frame's centre.
        var mass = 0.0, cx = 0.0, cy = 0.0
        for y in 0..<targetHeight {
            for x in 0..<targetWidth {
                let v = small[y * targetWidth + x]
                mass += v; cx += v * Double(x); cy += v * Double(y)
            }
        }
        let offsetX = Int((Double(size) / 2 - (mass > 0 ? cx / mass : Double(targetWidth) / 2) - 0.5).rounded())
        let offsetY = Int((Double(size) / 2 - (mass > 0 ? cy / mass : Double(targetHeight) / 2) - 0.5).rounded())
        let peak = max(small.max() ?? 1, 1)
        var out = [UInt8](repeating: 0, count: size * size)
        for y in 0..<targetHeight {
            for x in 0..<targetWidth {
                let (fx, fy) = (x + offsetX, y + offsetY)
                guard fx >= 0, fx < size, fy >= 0, fy < size else { continue }
                out[fy * size + fx] = UInt8(min(255, (small[y * targetWidth + x] / peak * 255).rounded()))
            }
        }
        return GreyImage(width: size, height: size, pixels: out)
    }

    /// Text art of a small grey image, two characters per pixel, darker glyphs for brighter pixels.
    public static func textArt(_ image: GreyImage) -> String {
        let ramp = Array(" .:-=+*#%@")
        return (0..<image.height).map { y in
            String((0..<image.width).flatMap { x -> [Character] in
                let glyph = ramp[Int(image[x, y]) * (ramp.count - 1) / 255]
                return [glyph, glyph]
            })
        }.joined(separator: "\n")
    }
}
