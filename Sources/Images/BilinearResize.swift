/// Bilinear resizing as Keras's `image_dataset_from_directory` does it (`tf.image.resize`, method
/// "bilinear", no antialiasing): pixel centres at half-integers, so output pixel `o` samples the source
/// at `(o + 0.5) * in / out - 0.5`, clamped to the edge; interpolation in Float, the horizontal pass
/// first, as TensorFlow's kernel. Keras keeps the result as floats; here it is rounded to the nearest
/// byte (ties to even, as NumPy rounds), so samples stay one byte each (at most 1/510 off per pixel).
public enum BilinearResize {
    public static func resize(_ picture: Picture, height: Int, width: Int) -> Picture {
        if picture.height == height && picture.width == width { return picture }
        let channels = picture.channels
        let columns = samplePoints(from: picture.width, to: width), rows = samplePoints(from: picture.height, to: height)
        var out = [UInt8](repeating: 0, count: height * width * channels)
        picture.pixels.withUnsafeBufferPointer { source in
            func value(_ y: Int, _ x: Int, _ c: Int) -> Float { Float(source[(y * picture.width + x) * channels + c]) }
            for (oy, row) in rows.enumerated() {
                for (ox, column) in columns.enumerated() {
                    for c in 0..<channels {
                        let topLeft = value(row.low, column.low, c), topRight = value(row.low, column.high, c)
                        let bottomLeft = value(row.high, column.low, c), bottomRight = value(row.high, column.high, c)
                        let top = topLeft + (topRight - topLeft) * column.fraction
                        let bottom = bottomLeft + (bottomRight - bottomLeft) * column.fraction
                        let v = top + (bottom - top) * row.fraction
                        out[(oy * width + ox) * channels + c] = UInt8(min(255, max(0, v.rounded(.toNearestOrEven))))
                    }
                }
            }
        }
        return Picture(width: width, height: height, channels: channels, pixels: out)
    }

    /// For each output index: the two source indices around its sample point and the weight of the second.
    static func samplePoints(from input: Int, to output: Int) -> [(low: Int, high: Int, fraction: Float)] {
        let scale = Float(input) / Float(output)
        return (0..<output).map { o in
            let position = (Float(o) + 0.5) * scale - 0.5
            let below = position.rounded(.down)
            let low = max(Int(below), 0), high = min(Int(position.rounded(.up)), input - 1)
            return (low, high, position - below)
        }
    }
}
