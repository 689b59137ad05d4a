/// How `predict` turns a picture into a model's input (`[height, width, channels]` bytes): as MNIST
/// was made for digit models (`DigitPreprocessing.mnistLike`: grey, light on dark, centred in a
/// square), or as image folders were read for training (the picture's channels already converted by
/// the decoder, then `BilinearResize` to the input size).
public struct PicturePreparation {
    public let shape: [Int]
    public let asDigits: Bool

    /// Refuses inputs it cannot prepare: digit preparation makes square grey pictures; pictures are grey or RGB.
    public init(shape: [Int], asDigits: Bool) throws {
        guard shape.count == 3, shape[2] == 1 || shape[2] == 3 else {
            throw ImageError("predict reads grey or RGB pictures; the model takes \(shape.map(String.init).joined(separator: "x")) inputs")
        }
        if asDigits && (shape[0] != shape[1] || shape[2] != 1) {
            throw ImageError("the model takes \(shape.map(String.init).joined(separator: "x")) inputs; "
                             + "predict prepares \(shape[0])x\(shape[0])x1 digit pictures")
        }
        self.shape = shape
        self.asDigits = asDigits
    }

    /// The model's input bytes for `picture` (decoded with `shape[2]` channels).
    public func prepare(_ picture: Picture) -> [UInt8] {
        if asDigits { return DigitPreprocessing.mnistLike(picture.grey, size: shape[0], box: shape[0] * 20 / 28).pixels }
        return BilinearResize.resize(picture, height: shape[0], width: shape[1]).pixels
    }
}
